package dev.stepwise.operator.checkpoint;

import dev.stepwise.api.Checkpoint;
import dev.stepwise.api.CheckpointPhase;
import dev.stepwise.api.RunPaths;
import dev.stepwise.api.TrainingRun;
import dev.stepwise.operator.dependent.CheckpointCleanupJob;
import dev.stepwise.operator.status.EventReason;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What to do for a Checkpoint being deleted, decided from what is observed, without side effects:
 * its data on the run volume goes first (a cleanup Job), unless the run resumed from it or another
 * run's spec.init starts from it. {@code CheckpointReconciler} carries the decision out.
 */
public final class CheckpointCleanup {

  /** What the reconciler does. */
  public enum Action {
    /** Let the Checkpoint go: its data is gone, or there is none to clean. */
    RELEASE,
    /** Nothing now: a newer object of the same name, or the Job still runs. */
    WAIT,
    /** Keep the data and look again later: it is in use. */
    DEFER,
    /** Create the cleanup Job. */
    START_JOB,
    /** The Job failed for good: say so and look again later. */
    REPORT_FAILED_JOB
  }

  /**
   * @param action what to do
   * @param phase the Checkpoint's phase to write, or null to leave it
   * @param message the Checkpoint's status message and Event message, or null
   * @param event the Event to record on the Checkpoint, or null
   */
  public record Decision(Action action, CheckpointPhase phase, String message, EventReason event) {

    static Decision of(Action action) {
      return new Decision(action, null, null, null);
    }
  }

  private CheckpointCleanup() {}

  /**
   * @param fresh the Checkpoint as just read from the API server (null when gone)
   * @param cachedUid the uid of the Checkpoint the cleanup was called for
   * @param run its run as just read (null when gone)
   * @param runsStartingFrom names of the runs whose spec.init starts from it
   * @param job its cleanup Job, when one exists
   */
  public static Decision decide(
      Checkpoint fresh,
      String cachedUid,
      TrainingRun run,
      List<String> runsStartingFrom,
      Optional<Job> job) {
    if (fresh == null || !identifies(fresh)) {
      return Decision.of(Action.RELEASE); // gone, or without a spec: no data of it to clean
    }
    if (!fresh.getMetadata().getUid().equals(cachedUid)
        || fresh.getMetadata().getDeletionTimestamp() == null) {
      return Decision.of(Action.WAIT); // a newer object of that name: its own events follow
    }
    if (run == null || run.getMetadata().getDeletionTimestamp() != null) {
      // The run volume goes with the run (an existing claim stays, as the user's).
      return Decision.of(Action.RELEASE);
    }
    var step = fresh.getSpec().getStep();
    if (run.getStatus() != null && Objects.equals(run.getStatus().getResumedFrom(), step)) {
      return new Decision(
          Action.DEFER,
          CheckpointPhase.Ready,
          "run %s resumed from this checkpoint: its data is kept until the run resumes elsewhere"
              .formatted(run.getMetadata().getName()),
          EventReason.CleanupDeferred);
    }
    if (!runsStartingFrom.isEmpty()) {
      return new Decision(
          Action.DEFER,
          CheckpointPhase.Ready,
          "run %s starts from this checkpoint (spec.init): its data is kept until no run does"
              .formatted(String.join(", ", runsStartingFrom)),
          EventReason.CleanupDeferred);
    }
    if (job.isEmpty()) {
      return new Decision(
          Action.START_JOB,
          CheckpointPhase.Deleting,
          "deleting %s from the run volume (Job %s)"
              .formatted(RunPaths.checkpointDir(step), CheckpointCleanupJob.name(run, step)),
          EventReason.CleanupStarted);
    }
    var status = job.get().getStatus();
    if (status != null && status.getSucceeded() != null && status.getSucceeded() > 0) {
      return new Decision(
          Action.RELEASE,
          null,
          "%s deleted from the run volume".formatted(RunPaths.checkpointDir(step)),
          EventReason.DataDeleted);
    }
    if (status != null
        && status.getFailed() != null
        && status.getFailed() > CheckpointCleanupJob.BACKOFF_LIMIT) {
      return new Decision(
          Action.REPORT_FAILED_JOB,
          CheckpointPhase.Failed,
          "cleanup Job %s failed: see its pods' logs; delete the Job to retry"
              .formatted(job.get().getMetadata().getName()),
          EventReason.CleanupFailed);
    }
    return Decision.of(Action.WAIT);
  }

  /** The spec names a run and a step (the schema does not require a spec at all). */
  static boolean identifies(Checkpoint checkpoint) {
    var spec = checkpoint.getSpec();
    return spec != null && spec.getTrainingRun() != null && spec.getStep() != null;
  }
}
