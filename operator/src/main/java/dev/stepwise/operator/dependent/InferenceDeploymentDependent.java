package dev.stepwise.operator.dependent;

import dev.stepwise.api.InferenceSpec;
import dev.stepwise.api.TrainingRun;
import dev.stepwise.operator.Labels;
import dev.stepwise.operator.Roles;
import io.fabric8.kubernetes.api.model.ContainerPortBuilder;
import io.fabric8.kubernetes.api.model.ProbeBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.javaoperatorsdk.operator.api.reconciler.Context;

/**
 * Deployment {@code <run>-inference} (rl only): stateless inference servers. Their pod template
 * carries nothing a resume changes, so a resume never restarts them.
 */
public class InferenceDeploymentDependent extends RunDependent<Deployment> {

  public InferenceDeploymentDependent() {
    super(Deployment.class);
  }

  public static String name(TrainingRun run) {
    return InferenceServiceDependent.name(run);
  }

  /** Inference pods the spec asks for, whether or not the run is suspended. */
  public static int replicas(TrainingRun run) {
    var inference = inference(run);
    return inference.getReplicas() == null ? 1 : inference.getReplicas();
  }

  private static InferenceSpec inference(TrainingRun run) {
    return run.getSpec().getInference() != null
        ? run.getSpec().getInference()
        : new InferenceSpec();
  }

  @Override
  protected Deployment desired(TrainingRun run, Context<TrainingRun> context) {
    var inference = inference(run);
    var pod =
        PodTemplates.runtimePod(
                run,
                Roles.INFERENCE,
                RuntimeArgs.inference(run),
                inference.getResources(),
                inference.getGpus())
            .editSpec()
            .editFirstContainer()
            .withPorts(
                new ContainerPortBuilder()
                    .withName("http")
                    .withContainerPort(RuntimeArgs.INFERENCE_PORT)
                    .build())
            .withReadinessProbe(
                new ProbeBuilder()
                    .withNewHttpGet()
                    .withPath("/health")
                    .withNewPort("http")
                    .endHttpGet()
                    .withPeriodSeconds(5)
                    .build())
            .endContainer()
            .endSpec()
            .build();
    return new DeploymentBuilder()
        .withMetadata(metadata(run, name(run), Roles.INFERENCE.id()))
        .withNewSpec()
        .withReplicas(run.getSpec().isSuspended() ? 0 : replicas(run))
        .withNewSelector()
        .withMatchLabels(Labels.selector(run, Roles.INFERENCE.id()))
        .endSelector()
        .withTemplate(pod)
        .endSpec()
        .build();
  }
}
