package dev.stepwise.operator.dependent;

import dev.stepwise.api.TrainingRun;
import dev.stepwise.operator.Labels;
import dev.stepwise.operator.Roles;
import dev.stepwise.operator.config.CompactItemStore;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.javaoperatorsdk.operator.api.config.informer.Informer;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependent;

/**
 * Deployment {@code <run>-orchestrator} (rl only): exactly one orchestrator, replaced (never rolled
 * alongside an old one) because two would write the same run directory.
 */
@KubernetesDependent(
    informer =
        @Informer(
            labelSelector = Labels.MANAGED_SELECTOR,
            itemStore = CompactItemStore.class,
            onAddFilter = OwnCreateFilter.class,
            onUpdateFilter = ChildUpdateFilter.class))
public class OrchestratorDeploymentDependent extends RunDependent<Deployment> {

  public OrchestratorDeploymentDependent() {
    super(Deployment.class);
  }

  public static String name(TrainingRun run) {
    return run.getMetadata().getName() + "-orchestrator";
  }

  @Override
  protected Deployment desired(TrainingRun run, Context<TrainingRun> context) {
    var orchestrator = run.getSpec().getOrchestrator();
    var pod =
        PodTemplates.runtimePod(
                run,
                Roles.ORCHESTRATOR,
                RuntimeArgs.orchestrator(run),
                orchestrator == null ? null : orchestrator.getResources(),
                0)
            .editSpec()
            .editFirstContainer()
            .withPorts(PodTemplates.metricsPort())
            .endContainer()
            .endSpec()
            .build();
    return new DeploymentBuilder()
        .withMetadata(metadata(run, name(run), Roles.ORCHESTRATOR.id()))
        .withNewSpec()
        .withReplicas(trainingStopped(run) ? 0 : 1)
        .withNewStrategy()
        .withType("Recreate")
        .endStrategy()
        .withNewSelector()
        .withMatchLabels(Labels.selector(run, Roles.ORCHESTRATOR.id()))
        .endSelector()
        .withTemplate(pod)
        .endSpec()
        .build();
  }
}
