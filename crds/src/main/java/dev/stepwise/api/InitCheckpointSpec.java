package dev.stepwise.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;

/** Names one Checkpoint of another run by run and step, as Checkpoint {@code <run>-step-<n>}. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class InitCheckpointSpec {

  @JsonPropertyDescription(
      "Name of the TrainingRun, in the same namespace, that wrote the checkpoint (for example the"
          + " SFT run). The trainer pods mount that run's volume read-only at"
          + " /var/lib/stepwise/init: unless its access mode is ReadOnlyMany or ReadWriteMany,"
          + " they must run on the node that has it attached (a ReadWriteOnce volume is attached"
          + " to one node at a time), so let the source run finish first.")
  @Required
  @Size(min = 1, max = 63)
  @Pattern("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
  private String trainingRun;

  @JsonPropertyDescription(
      "Step of the checkpoint: Checkpoint <trainingRun>-step-<step>, i.e."
          + " checkpoints/step_<step> on that run's volume.")
  @Required
  @Min(0)
  private Long step;

  public String getTrainingRun() {
    return trainingRun;
  }

  public void setTrainingRun(String trainingRun) {
    this.trainingRun = trainingRun;
  }

  public Long getStep() {
    return step;
  }

  public void setStep(Long step) {
    this.step = step;
  }
}
