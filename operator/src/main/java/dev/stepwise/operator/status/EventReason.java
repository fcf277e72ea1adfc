package dev.stepwise.operator.status;

/** The vocabulary of Kubernetes Events the operator records on a TrainingRun. */
public enum EventReason {
  /** The workloads of a new run were created. */
  WorkloadsCreated(false),
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
  /** ckpt.keep retired a checkpoint (its data is deleted by a cleanup Job). */
  CheckpointPruned(false),
  /** A Ready checkpoint at maxSteps: the run is complete. */
  RunSucceeded(false),
  /** A trainer or orchestrator pod crashed or was lost; it recovers from the latest checkpoint. */
  PodRecovering(true);

  private final boolean warning;

  EventReason(boolean warning) {
    this.warning = warning;
  }

  /** The event type: Warning or Normal. */
  public String type() {
    return warning ? "Warning" : "Normal";
  }
}
