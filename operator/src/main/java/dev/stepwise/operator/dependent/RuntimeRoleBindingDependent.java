package dev.stepwise.operator.dependent;

import dev.stepwise.api.TrainingRun;
import dev.stepwise.operator.Labels;
import dev.stepwise.operator.config.CompactItemStore;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.api.model.rbac.RoleBindingBuilder;
import io.fabric8.kubernetes.api.model.rbac.SubjectBuilder;
import io.javaoperatorsdk.operator.api.config.informer.Informer;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependent;

/** RoleBinding {@code <run>-runtime}: grants the run's Role to the run's ServiceAccount. */
@KubernetesDependent(
    informer =
        @Informer(
            labelSelector = Labels.MANAGED_SELECTOR,
            itemStore = CompactItemStore.class,
            onAddFilter = OwnCreateFilter.class,
            onUpdateFilter = ChildUpdateFilter.class))
public class RuntimeRoleBindingDependent extends RunDependent<RoleBinding> {

  public RuntimeRoleBindingDependent() {
    super(RoleBinding.class);
  }

  public static String name(TrainingRun run) {
    return RuntimeServiceAccountDependent.name(run);
  }

  @Override
  protected RoleBinding desired(TrainingRun run, Context<TrainingRun> context) {
    return new RoleBindingBuilder()
        .withMetadata(metadata(run, name(run), RuntimeServiceAccountDependent.COMPONENT))
        .withNewRoleRef()
        .withApiGroup("rbac.authorization.k8s.io")
        .withKind("Role")
        .withName(RuntimeRoleDependent.name(run))
        .endRoleRef()
        .withSubjects(
            new SubjectBuilder()
                .withKind("ServiceAccount")
                .withName(RuntimeServiceAccountDependent.name(run))
                .withNamespace(run.getMetadata().getNamespace())
                .build())
        .build();
  }
}
