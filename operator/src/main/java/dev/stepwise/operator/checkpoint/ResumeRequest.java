package dev.stepwise.operator.checkpoint;

import dev.stepwise.api.RunPhase;
import dev.stepwise.api.TrainingRun;
import dev.stepwise.api.TrainingRunStatus;
import dev.stepwise.operator.status.ConditionReason;
import dev.stepwise.operator.validation.SpecProblem;
import java.util.Objects;
import java.util.Optional;

/**
 * A resume asked for by patching {@code spec.resumeStep}: when it is new, whether it can be
 * accepted, and the status that records its acceptance before any pod changes.
 */
public final class ResumeRequest {

  private ResumeRequest() {}

  /**
   * spec.resumeStep names a step the current workloads did not resume from, or spec.resumeNonce
   * changed: the user asks to resume from the same step once more.
   */
  public static boolean isNew(TrainingRun run) {
    var spec = run.getSpec();
    if (spec.getResumeStep() == null) {
      return false;
    }
    var status = run.getStatus();
    return status == null
        || !Objects.equals(spec.getResumeStep(), status.getResumedFrom())
        || !Objects.equals(spec.getResumeNonce(), status.getResumeNonce());
  }

  /** Why a new resume cannot be accepted: no Ready Checkpoint at that step (0 needs none). */
  public static Optional<SpecProblem> problem(TrainingRun run, RunCheckpoints checkpoints) {
    if (!isNew(run)) {
      return Optional.empty();
    }
    var step = run.getSpec().getResumeStep();
    if (step == 0 || checkpoints.isReady(step)) {
      return Optional.empty();
    }
    return Optional.of(
        new SpecProblem(
            "spec.resumeStep",
            ConditionReason.CheckpointNotFound,
            "no Ready checkpoint at step %d of run %s; Ready steps: %s"
                .formatted(step, run.getMetadata().getName(), checkpoints.describeReady())));
  }

  /**
   * The status that accepts the resume: a new timeline, the step resumed from, phase Resuming. The
   * timeline is the spec's generation, so a reconcile that still sees the old status (a stale
   * cache) computes the same timeline again instead of starting yet another one.
   */
  public static TrainingRunStatus accept(TrainingRun run, TrainingRunStatus status) {
    var generation = run.getMetadata().getGeneration();
    var old = status.getTimeline() == null ? 0 : status.getTimeline();
    status.setTimeline(generation != null ? generation : old + 1);
    status.setResumedFrom(run.getSpec().getResumeStep());
    status.setResumeNonce(run.getSpec().getResumeNonce());
    status.setPhase(RunPhase.Resuming);
    return status;
  }
}
