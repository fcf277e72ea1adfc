package dev.stepwise.operator.dependent;

import dev.stepwise.api.Checkpoint;
import dev.stepwise.api.Constants;
import dev.stepwise.api.TrainingRun;
import dev.stepwise.operator.Labels;
import dev.stepwise.operator.config.CompactItemStore;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.rbac.PolicyRuleBuilder;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBuilder;
import io.javaoperatorsdk.operator.api.config.informer.Informer;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependent;

/**
 * Role {@code <run>-runtime}: what the run's trainer may do through the API, and nothing more:
 * create and update Checkpoints and their status (rank 0 reports each complete checkpoint), and
 * patch the status of its own TrainingRun, by name (rank 0 writes {@code status.progress}). No
 * delete: retention and deletion belong to the operator alone. RBAC cannot limit {@code create} to
 * names, so the Checkpoint rule covers the namespace's Checkpoints.
 */
@KubernetesDependent(
    informer =
        @Informer(
            labelSelector = Labels.MANAGED_SELECTOR,
            itemStore = CompactItemStore.class,
            onAddFilter = OwnCreateFilter.class,
            onUpdateFilter = ChildUpdateFilter.class))
public class RuntimeRoleDependent extends RunDependent<Role> {

  public RuntimeRoleDependent() {
    super(Role.class);
  }

  public static String name(TrainingRun run) {
    return RuntimeServiceAccountDependent.name(run);
  }

  @Override
  protected Role desired(TrainingRun run, Context<TrainingRun> context) {
    var plural = HasMetadata.getPlural(Checkpoint.class);
    return new RoleBuilder()
        .withMetadata(metadata(run, name(run), RuntimeServiceAccountDependent.COMPONENT))
        .withRules(
            new PolicyRuleBuilder()
                .withApiGroups(Constants.GROUP)
                .withResources(plural)
                .withVerbs("get", "list", "create", "update", "patch")
                .build(),
            new PolicyRuleBuilder()
                .withApiGroups(Constants.GROUP)
                .withResources(plural + "/status")
                .withVerbs("get", "update", "patch")
                .build(),
            // Live progress: the trainer patches status.progress of its own run, and nothing else
            // of any run (the status subresource ignores spec and metadata; the name is fixed).
            new PolicyRuleBuilder()
                .withApiGroups(Constants.GROUP)
                .withResources(HasMetadata.getPlural(TrainingRun.class) + "/status")
                .withResourceNames(run.getMetadata().getName())
                .withVerbs("patch")
                .build())
        .build();
  }
}
