package dev.stepwise.operator.status;

import dev.stepwise.api.RunPhase;
import dev.stepwise.api.TrainingRun;
import dev.stepwise.api.TrainingRunStatus;
import dev.stepwise.api.retention.RetentionDecision.Quota;
import dev.stepwise.api.retention.RetentionDecision.QuotaState;
import dev.stepwise.operator.checkpoint.RunCheckpoints;
import dev.stepwise.operator.validation.SpecProblem;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.util.List;
import java.util.Objects;
import java.util.stream.Collectors;

/** Computes the next status of a run from its spec, its observed workloads and its problems. */
public final class RunStatusCalculator {

  private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

  private RunStatusCalculator() {}

  /** Status of a run whose spec cannot be reconciled: its workloads were left as they were. */
  public static TrainingRunStatus invalid(TrainingRun run, SpecProblem problem, String now) {
    var next = copy(run.getStatus());
    var gen = run.getMetadata().getGeneration();
    if (next.getPhase() == null) {
      next.setPhase(RunPhase.Pending);
    }
    var conditions = next.getConditions();
    conditions =
        Conditions.set(
            conditions, Conditions.READY, false, problem.reason(), problem.message(), gen, now);
    conditions =
        Conditions.set(
            conditions,
            Conditions.PROGRESSING,
            false,
            problem.reason(),
            problem.message(),
            gen,
            now);
    conditions =
        Conditions.set(
            conditions, Conditions.DEGRADED, true, problem.reason(), problem.message(), gen, now);
    next.setConditions(conditions);
    next.setObservedGeneration(gen);
    return next;
  }

  /** The run's status as a resume is accepted: the spec is valid, a rollout begins. */
  public static TrainingRunStatus resuming(TrainingRun run, String now) {
    var next = copy(run.getStatus());
    var gen = run.getMetadata().getGeneration();
    var why = "resuming from step " + run.getSpec().getResumeStep();
    var conditions = next.getConditions();
    conditions =
        Conditions.set(
            conditions, Conditions.PROGRESSING, true, ConditionReason.Resuming, why, gen, now);
    return withValidSpec(next, conditions, gen, now);
  }

  /**
   * The status the children are reconciled against: the run's progress from its Ready Checkpoints
   * of the current timeline (step, latestCheckpoint) and whether it is complete (phase Succeeded: a
   * Ready checkpoint at maxSteps), which scales trainer and orchestrator to zero. Raising maxSteps
   * makes a Succeeded run incomplete again.
   */
  public static TrainingRunStatus progress(TrainingRun run, RunCheckpoints checkpoints) {
    var next = copy(run.getStatus());
    if (next.getTimeline() == null) {
      next.setTimeline(0L);
    }
    var latest = checkpoints.latestOfTimeline(next.getTimeline(), next.getResumedFrom());
    next.setStep(latest);
    next.setLatestCheckpoint(latest);
    var complete =
        !run.getSpec().isSuspended() && latest != null && latest >= run.getSpec().getMaxSteps();
    if (complete) {
      next.setPhase(RunPhase.Succeeded);
    } else if (next.getPhase() == RunPhase.Succeeded) {
      next.setPhase(RunPhase.Pending);
    }
    return next;
  }

  /** Status of a run whose workloads match its spec, given what they report. */
  public static TrainingRunStatus reconciled(
      TrainingRun run, List<Workload> workloads, String now) {
    return reconciled(run, workloads, List.of(), now);
  }

  /**
   * Status of a run whose workloads match its spec, given what they report and why pods cannot run
   * ({@link PodProblems}); a problem makes Ready false with reason {@link
   * ConditionReason#PodsFailing}.
   */
  public static TrainingRunStatus reconciled(
      TrainingRun run, List<Workload> workloads, List<String> podProblems, String now) {
    var next = copy(run.getStatus());
    var gen = run.getMetadata().getGeneration();
    var summary = workloads.stream().map(Workload::toString).collect(Collectors.joining(", "));
    var allReady = workloads.stream().allMatch(Workload::isReady);
    var conditions = next.getConditions();
    if (next.getPhase() == RunPhase.Succeeded) {
      var why =
          "trained to step %d (maxSteps): trainer and orchestrator scaled to zero; raise maxSteps"
                  .formatted(next.getStep())
              + " to continue";
      conditions = atRest(conditions, true, ConditionReason.Completed, why, gen, now);
    } else if (run.getSpec().isSuspended()) {
      next.setPhase(RunPhase.Suspended);
      var why = "spec.suspend is true: every workload is scaled to zero; the run directory stays";
      conditions = atRest(conditions, false, ConditionReason.Suspended, why, gen, now);
    } else if (allReady) {
      next.setPhase(RunPhase.Running);
      conditions =
          Conditions.set(
              conditions,
              Conditions.READY,
              true,
              ConditionReason.WorkloadsReady,
              "ready: " + summary,
              gen,
              now);
      conditions =
          Conditions.set(
              conditions,
              Conditions.PROGRESSING,
              false,
              ConditionReason.RolloutComplete,
              "every workload runs generation " + gen,
              gen,
              now);
    } else {
      next.setPhase(next.getPhase() == RunPhase.Resuming ? RunPhase.Resuming : RunPhase.Pending);
      conditions =
          podProblems.isEmpty()
              ? Conditions.set(
                  conditions,
                  Conditions.READY,
                  false,
                  ConditionReason.WorkloadsNotReady,
                  "waiting for pods: " + summary,
                  gen,
                  now)
              : Conditions.set(
                  conditions,
                  Conditions.READY,
                  false,
                  ConditionReason.PodsFailing,
                  "pods cannot run: " + String.join("; ", podProblems),
                  gen,
                  now);
      conditions =
          Conditions.set(
              conditions,
              Conditions.PROGRESSING,
              true,
              ConditionReason.RollingOut,
              "rolling out generation " + gen + ": " + summary,
              gen,
              now);
    }
    return withValidSpec(next, conditions, gen, now);
  }

  /**
   * {@code next} with the CheckpointQuota condition for {@code quota}: True while the checkpoints
   * fit in spec.ckpt.maxBytes, False when protected ones alone exceed it, absent without a quota.
   */
  public static TrainingRunStatus withQuota(
      TrainingRun run, TrainingRunStatus next, Quota quota, String now) {
    var gen = run.getMetadata().getGeneration();
    if (quota.state() == QuotaState.NONE) {
      next.setConditions(Conditions.remove(next.getConditions(), Conditions.CHECKPOINT_QUOTA));
      return next;
    }
    var within = quota.state() == QuotaState.WITHIN;
    next.setConditions(
        Conditions.set(
            next.getConditions(),
            Conditions.CHECKPOINT_QUOTA,
            within,
            within ? ConditionReason.WithinQuota : ConditionReason.ProtectedCheckpointsExceedQuota,
            quota.message(),
            gen,
            now));
    return next;
  }

  /** The run's status after a reconcile failed with {@code message}: Ready is False. */
  public static TrainingRunStatus failedReconcile(TrainingRun run, String message, String now) {
    var next = copy(run.getStatus());
    next.setConditions(
        Conditions.set(
            next.getConditions(),
            Conditions.READY,
            false,
            ConditionReason.ReconcileError,
            message,
            run.getMetadata().getGeneration(),
            now));
    return next;
  }

  /** {@code next} with {@code conditions}, not Degraded (the spec is valid), at {@code gen}. */
  /**
   * A run that is not rolling anything out (completed, suspended): Ready is {@code ready} and
   * Progressing false, both for {@code reason} with {@code why}.
   */
  private static List<Condition> atRest(
      List<Condition> conditions,
      boolean ready,
      ConditionReason reason,
      String why,
      Long gen,
      String now) {
    var readySet = Conditions.set(conditions, Conditions.READY, ready, reason, why, gen, now);
    return Conditions.set(readySet, Conditions.PROGRESSING, false, reason, why, gen, now);
  }

  private static TrainingRunStatus withValidSpec(
      TrainingRunStatus next, List<Condition> conditions, Long gen, String now) {
    next.setConditions(
        Conditions.set(
            conditions,
            Conditions.DEGRADED,
            false,
            ConditionReason.AsExpected,
            "the spec is valid",
            gen,
            now));
    next.setObservedGeneration(gen);
    return next;
  }

  /**
   * A deep copy of {@code status} (a new, empty one when null) that can be changed freely. It goes
   * through the JSON model, so a field added to the status is copied without touching this class
   * ({@code progress} too, which only the trainer writes: {@link RunStatusWriter} keeps the API
   * server's).
   */
  public static TrainingRunStatus copy(TrainingRunStatus status) {
    if (status == null) {
      return new TrainingRunStatus();
    }
    return SERIALIZATION.clone(status);
  }

  /** True when {@code next} differs from {@code previous}, the status the API server has. */
  public static boolean changed(TrainingRunStatus previous, TrainingRunStatus next) {
    return !Objects.equals(previous, next);
  }
}
