package dev.stepwise.operator.dependent;

import dev.stepwise.api.TrainingRun;
import dev.stepwise.operator.Labels;
import dev.stepwise.operator.Roles;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.ServicePortBuilder;
import io.javaoperatorsdk.operator.api.reconciler.Context;

/** Service {@code <run>-inference} (rl only): where the orchestrator reaches the inference pods. */
public class InferenceServiceDependent extends RunDependent<Service> {

  public InferenceServiceDependent() {
    super(Service.class);
  }

  public static String name(TrainingRun run) {
    return run.getMetadata().getName() + "-inference";
  }

  /** Base URL the orchestrator is given ({@code --client.base-url}). */
  public static String url(TrainingRun run) {
    return "http://%s.%s.svc:%d"
        .formatted(name(run), run.getMetadata().getNamespace(), RuntimeArgs.INFERENCE_PORT);
  }

  @Override
  protected Service desired(TrainingRun run, Context<TrainingRun> context) {
    return new ServiceBuilder()
        .withMetadata(metadata(run, name(run), Roles.INFERENCE.id()))
        .withNewSpec()
        .withSelector(Labels.selector(run, Roles.INFERENCE.id()))
        .withPorts(
            new ServicePortBuilder()
                .withName("http")
                .withPort(RuntimeArgs.INFERENCE_PORT)
                .withNewTargetPort("http")
                .build())
        .endSpec()
        .build();
  }
}
