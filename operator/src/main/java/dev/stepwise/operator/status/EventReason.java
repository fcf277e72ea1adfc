package dev.stepwise.operator.status;

/** The vocabulary of Kubernetes Events the operator records on TrainingRuns and Checkpoints. */
public enum EventReason {
  /** A spec change was applied to the workloads. */
  WorkloadsUpdated(false),
  /** Every workload reports ready. */
  RunReady(false),
  /** spec.suspend scaled the workloads to zero. */
  Suspended(false),
  /** spec.suspend was cleared; the workloads scale back up. */
  Unsuspended(false),
  /** The spec cannot be reconciled; the message names the field. */
  SpecInvalid(true),
  /** A spec that was invalid is valid again. */
  SpecValid(false),
  /** spec.resumeStep was accepted: trainer and orchestrator restart from that checkpoint. */
  ResumeAccepted(false),
  /** spec.resumeStep names no Ready checkpoint: nothing was changed. */
  ResumeRejected(true),
  /**
   * Retention (keep, keepEvery, keepBest, maxBytes) retired a checkpoint; a Job deletes its data.
   */
  CheckpointPruned(false),
  /** A Ready checkpoint at maxSteps: the run is complete. */
  RunSucceeded(false),
  /** A trainer or orchestrator pod crashed or was lost; it recovers from the latest checkpoint. */
  PodRecovering(true),
  /** Protected checkpoints alone exceed spec.ckpt.maxBytes (on the run). */
  CheckpointQuotaExceeded(true),
  /** A reconcile failed with an error; it is retried (on the run or the Checkpoint). */
  ReconcileFailed(true),
  /** On a Checkpoint: a cleanup Job deletes its data from the run volume. */
  CleanupStarted(false),
  /** On a Checkpoint: its deletion waits, its data being a resume point or an init source. */
  CleanupDeferred(false),
  /** On a Checkpoint: its cleanup Job failed; deleting the Job retries. */
  CleanupFailed(true),
  /** On a Checkpoint: its data is gone from the run volume; the Checkpoint goes too. */
  DataDeleted(false);

  private final boolean warning;

  EventReason(boolean warning) {
    this.warning = warning;
  }

  /** The event type: Warning or Normal. */
  public String type() {
    return warning ? "Warning" : "Normal";
  }
}
