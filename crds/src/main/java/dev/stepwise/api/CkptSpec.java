package dev.stepwise.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.ValidationRule;
import io.fabric8.kubernetes.api.model.Quantity;

/** Checkpointing of a run: maps one to one onto the runtime's {@code --ckpt.*} flags. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(
    value = "has(self.keep) || (!has(self.keepEvery) && !has(self.keepBest))",
    message =
        "keepEvery and keepBest keep checkpoints in addition to the newest `keep`: set keep too")
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

  @JsonPropertyDescription(
      "Also keep every checkpoint whose step is a multiple of this (milestones;"
          + " --ckpt.keep-every). Needs keep.")
  @Min(1)
  private Integer keepEvery;

  @JsonPropertyDescription(
      "Also keep the best `count` checkpoints by a metric the trainer reports with each"
          + " checkpoint (--ckpt.keep-best.*). Needs keep.")
  private KeepBestSpec keepBest;

  @JsonPropertyDescription(
      "Disk quota for this run's checkpoints (bytes, or a quantity such as 50Gi;"
          + " --ckpt.max-bytes): while their total size exceeds it, the oldest ones not protected"
          + " are deleted, whatever keep, keepEvery and keepBest say. Protected: retained ones,"
          + " the resume point, the newest, and any another run's spec.init starts from; when"
          + " those alone exceed the quota, the CheckpointQuota condition says so.")
  private Quantity maxBytes;

  @JsonPropertyDescription(
      "Seconds a trainer or orchestrator pod gets to stop when Kubernetes stops it (preemption,"
          + " node drain, kubectl delete pod): its terminationGracePeriodSeconds. On SIGTERM the"
          + " trainer finishes the step in flight, writes it as a complete checkpoint (reason"
          + " Preemption) and exits, and the restarted pod resumes from it; a save not done 10 s"
          + " before the deadline is abandoned, leaving nothing that looks complete"
          + " (--ckpt.stop-deadline). Default 60.")
  @Min(15)
  private Integer stopGracePeriodSeconds;

  public Integer getStopGracePeriodSeconds() {
    return stopGracePeriodSeconds;
  }

  public void setStopGracePeriodSeconds(Integer stopGracePeriodSeconds) {
    this.stopGracePeriodSeconds = stopGracePeriodSeconds;
  }

  /** {@link #getStopGracePeriodSeconds()} or its default, 60. */
  public static long stopGracePeriodSeconds(CkptSpec ckpt) {
    return ckpt == null || ckpt.stopGracePeriodSeconds == null ? 60 : ckpt.stopGracePeriodSeconds;
  }

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

  public Integer getKeepEvery() {
    return keepEvery;
  }

  public void setKeepEvery(Integer keepEvery) {
    this.keepEvery = keepEvery;
  }

  public KeepBestSpec getKeepBest() {
    return keepBest;
  }

  public void setKeepBest(KeepBestSpec keepBest) {
    this.keepBest = keepBest;
  }

  public Quantity getMaxBytes() {
    return maxBytes;
  }

  public void setMaxBytes(Quantity maxBytes) {
    this.maxBytes = maxBytes;
  }

  public Integer getKeep() {
    return keep;
  }

  public void setKeep(Integer keep) {
    this.keep = keep;
  }
}
