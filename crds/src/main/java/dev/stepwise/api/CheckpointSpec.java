package dev.stepwise.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.ValidationRule;

/** Identifies one checkpoint of a run; deleting the Checkpoint deletes its data. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(
    value = "self.trainingRun == oldSelf.trainingRun && self.step == oldSelf.step",
    message = "trainingRun and step identify the checkpoint and cannot change")
public class CheckpointSpec {

  @JsonPropertyDescription("Name of the TrainingRun, in the same namespace, that wrote it.")
  @Required
  private String trainingRun;

  @JsonPropertyDescription("Training step the checkpoint was taken at (checkpoints/step_<step>).")
  @Required
  @Min(0)
  private Long step;

  @JsonPropertyDescription(
      "Pin the checkpoint: retention (ckpt.keep) never deletes a retained checkpoint.")
  @Default("false")
  private Boolean retain = false;

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

  public Boolean getRetain() {
    return retain;
  }

  public void setRetain(Boolean retain) {
    this.retain = retain;
  }
}
