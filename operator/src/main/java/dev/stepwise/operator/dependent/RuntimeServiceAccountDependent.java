package dev.stepwise.operator.dependent;

import dev.stepwise.api.TrainingRun;
import dev.stepwise.operator.Labels;
import dev.stepwise.operator.config.CompactItemStore;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.javaoperatorsdk.operator.api.config.informer.Informer;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependent;

/**
 * ServiceAccount {@code <run>-runtime}: the identity of the run's pods. Its token is not mounted by
 * default; only trainer pods mount it, to report their checkpoints (see {@link
 * RuntimeRoleDependent}).
 */
@KubernetesDependent(
    informer =
        @Informer(
            labelSelector = Labels.MANAGED_SELECTOR,
            itemStore = CompactItemStore.class,
            onAddFilter = OwnCreateFilter.class,
            onUpdateFilter = ChildUpdateFilter.class))
public class RuntimeServiceAccountDependent extends RunDependent<ServiceAccount> {

  public static final String COMPONENT = "runtime";

  public RuntimeServiceAccountDependent() {
    super(ServiceAccount.class);
  }

  public static String name(TrainingRun run) {
    return run.getMetadata().getName() + "-runtime";
  }

  @Override
  protected ServiceAccount desired(TrainingRun run, Context<TrainingRun> context) {
    return new ServiceAccountBuilder()
        .withMetadata(metadata(run, name(run), COMPONENT))
        .withAutomountServiceAccountToken(false)
        .build();
  }
}
