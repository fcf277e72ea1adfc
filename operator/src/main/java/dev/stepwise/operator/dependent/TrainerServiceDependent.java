package dev.stepwise.operator.dependent;

import dev.stepwise.api.TrainingRun;
import dev.stepwise.operator.Labels;
import dev.stepwise.operator.Roles;
import dev.stepwise.operator.config.CompactItemStore;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.ServicePortBuilder;
import io.javaoperatorsdk.operator.api.config.informer.Informer;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependent;

/**
 * Headless Service {@code <run>-trainer}: gives each trainer rank a stable DNS name, so rank 0 is
 * reachable at {@code <run>-trainer-0.<run>-trainer.<ns>.svc.cluster.local}.
 */
@KubernetesDependent(
    informer =
        @Informer(
            labelSelector = Labels.MANAGED_SELECTOR,
            itemStore = CompactItemStore.class,
            onAddFilter = OwnCreateFilter.class,
            onUpdateFilter = ChildUpdateFilter.class))
public class TrainerServiceDependent extends RunDependent<Service> {

  public TrainerServiceDependent() {
    super(Service.class);
  }

  public static String name(TrainingRun run) {
    return TrainerStatefulSetDependent.name(run);
  }

  /** Address of rank 0, where torch.distributed rendezvous happens (MASTER_ADDR). */
  public static String masterAddress(TrainingRun run) {
    return "%s-0.%s.%s.svc.cluster.local"
        .formatted(
            TrainerStatefulSetDependent.name(run), name(run), run.getMetadata().getNamespace());
  }

  @Override
  protected Service desired(TrainingRun run, Context<TrainingRun> context) {
    return new ServiceBuilder()
        .withMetadata(metadata(run, name(run), Roles.TRAINER.id()))
        .withNewSpec()
        .withClusterIP("None")
        .withPublishNotReadyAddresses(true) // ranks must find each other before they are ready
        .withSelector(Labels.selector(run, Roles.TRAINER.id()))
        .withPorts(
            new ServicePortBuilder()
                .withName("dist")
                .withPort(RuntimeArgs.MASTER_PORT)
                .withNewTargetPort(RuntimeArgs.MASTER_PORT)
                .build())
        .endSpec()
        .build();
  }
}
