package dev.stepwise.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Min;

/** Checkpointing of a run: maps one to one onto the runtime's {@code --ckpt.*} flags. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class CkptSpec {

  @JsonPropertyDescription(
      "Write a checkpoint every this many training steps (--ckpt.interval). When unset, only the"
          + " final step is checkpointed.")
  @Min(1)
  private Integer interval;

  @JsonPropertyDescription(
      "Write checkpoints in the background so training does not wait for the disk"
          + " (--ckpt.save-async).")
  private Boolean saveAsync;

  @JsonPropertyDescription(
      "How many of the most recent step checkpoints stay on disk; older ones are deleted, except"
          + " retained ones and the one a resume points at (--ckpt.keep). When unset, all are kept.")
  @Min(1)
  private Integer keep;

  public Integer getInterval() {
    return interval;
  }

  public void setInterval(Integer interval) {
    this.interval = interval;
  }

  public Boolean getSaveAsync() {
    return saveAsync;
  }

  public void setSaveAsync(Boolean saveAsync) {
    this.saveAsync = saveAsync;
  }

  public Integer getKeep() {
    return keep;
  }

  public void setKeep(Integer keep) {
    this.keep = keep;
  }
}
