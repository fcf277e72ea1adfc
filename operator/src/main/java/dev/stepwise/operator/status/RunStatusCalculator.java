package dev.stepwise.operator.status;

import dev.stepwise.api.RunPhase;
import dev.stepwise.api.TrainingRun;
import dev.stepwise.api.TrainingRunStatus;
import dev.stepwise.operator.checkpoint.RunCheckpoints;
import dev.stepwise.operator.validation.SpecProblem;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.stream.Collectors;

/** Computes the next status of a run from its spec, its observed workloads and its problems. */
public final class RunStatusCalculator {

  public static final String AS_EXPECTED = "AsExpected";
  public static final String WORKLOADS_READY = "WorkloadsReady";
  public static final String WORKLOADS_NOT_READY = "WorkloadsNotReady";
  public static final String ROLLING_OUT = "RollingOut";
  public static final String ROLLOUT_COMPLETE = "RolloutComplete";
  public static final String SUSPENDED = "Suspended";
  public static final String COMPLETED = "Completed";
  public static final String RESUMING = "Resuming";
  public static final String PODS_FAILING = "PodsFailing";

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
    conditions = Conditions.set(conditions, Conditions.PROGRESSING, true, RESUMING, why, gen, now);
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
   * ({@link PodProblems}); a problem makes Ready false with reason {@value #PODS_FAILING}.
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
      conditions = Conditions.set(conditions, Conditions.READY, true, COMPLETED, why, gen, now);
      conditions =
          Conditions.set(conditions, Conditions.PROGRESSING, false, COMPLETED, why, gen, now);
    } else if (run.getSpec().isSuspended()) {
      next.setPhase(RunPhase.Suspended);
      var why = "spec.suspend is true: every workload is scaled to zero; the run directory stays";
      conditions = Conditions.set(conditions, Conditions.READY, false, SUSPENDED, why, gen, now);
      conditions =
          Conditions.set(conditions, Conditions.PROGRESSING, false, SUSPENDED, why, gen, now);
    } else if (allReady) {
      next.setPhase(RunPhase.Running);
      conditions =
          Conditions.set(
              conditions, Conditions.READY, true, WORKLOADS_READY, "ready: " + summary, gen, now);
      conditions =
          Conditions.set(
              conditions,
              Conditions.PROGRESSING,
              false,
              ROLLOUT_COMPLETE,
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
                  WORKLOADS_NOT_READY,
                  "waiting for pods: " + summary,
                  gen,
                  now)
              : Conditions.set(
                  conditions,
                  Conditions.READY,
                  false,
                  PODS_FAILING,
                  "pods cannot run: " + String.join("; ", podProblems),
                  gen,
                  now);
      conditions =
          Conditions.set(
              conditions,
              Conditions.PROGRESSING,
              true,
              ROLLING_OUT,
              "rolling out generation " + gen + ": " + summary,
              gen,
              now);
    }
    return withValidSpec(next, conditions, gen, now);
  }

  /** {@code next} with {@code conditions}, not Degraded (the spec is valid), at {@code gen}. */
  private static TrainingRunStatus withValidSpec(
      TrainingRunStatus next, List<Condition> conditions, Long gen, String now) {
    next.setConditions(
        Conditions.set(
            conditions, Conditions.DEGRADED, false, AS_EXPECTED, "the spec is valid", gen, now));
    next.setObservedGeneration(gen);
    return next;
  }

  /** A copy of {@code status} (a new, empty one when null) that can be changed freely. */
  public static TrainingRunStatus copy(TrainingRunStatus status) {
    var next = new TrainingRunStatus();
    if (status != null) {
      next.setPhase(status.getPhase());
      next.setStep(status.getStep());
      next.setLatestCheckpoint(status.getLatestCheckpoint());
      next.setResumedFrom(status.getResumedFrom());
      next.setResumeNonce(status.getResumeNonce());
      next.setTimeline(status.getTimeline());
      next.setRestarts(status.getRestarts());
      next.setPods(
          status.getPods() == null ? new ArrayList<>() : new ArrayList<>(status.getPods()));
      next.setObservedGeneration(status.getObservedGeneration());
      next.setConditions(
          status.getConditions() == null
              ? new ArrayList<>()
              : new ArrayList<>(status.getConditions()));
    }
    return next;
  }

  /** True when {@code next} differs from {@code previous}, the status the API server has. */
  public static boolean changed(TrainingRunStatus previous, TrainingRunStatus next) {
    return !Objects.equals(previous, next);
  }
}
