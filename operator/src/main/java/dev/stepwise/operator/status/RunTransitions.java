package dev.stepwise.operator.status;

import dev.stepwise.api.RunPhase;
import dev.stepwise.api.TrainingRunStatus;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Which events a change of status deserves: only transitions, never a steady state, and none for
 * the birth of a run (its first status): its children and its status already say what was created
 * and whether it starts suspended, and a burst of new runs then writes no more than it must.
 */
public final class RunTransitions {

  /** One event to record. */
  public record Transition(EventReason reason, String message) {}

  private RunTransitions() {}

  /**
   * @param previous status before this reconcile (null or without a phase for a new run)
   */
  public static List<Transition> between(TrainingRunStatus previous, TrainingRunStatus next) {
    var old = previous != null ? previous : new TrainingRunStatus();
    var born = old.getPhase() == null;
    var events = new ArrayList<Transition>();
    var wasDegraded = Conditions.isTrue(old.getConditions(), Conditions.DEGRADED);
    var isDegraded = Conditions.isTrue(next.getConditions(), Conditions.DEGRADED);
    if (isDegraded) {
      var degraded = Conditions.find(next.getConditions(), Conditions.DEGRADED).orElseThrow();
      var oldDegraded = Conditions.find(old.getConditions(), Conditions.DEGRADED);
      if (!wasDegraded
          || !Objects.equals(
              oldDegraded.map(c -> c.getMessage()).orElse(null), degraded.getMessage())) {
        var reason =
            ConditionReason.CheckpointNotFound.name().equals(degraded.getReason())
                ? EventReason.ResumeRejected
                : EventReason.SpecInvalid;
        events.add(new Transition(reason, degraded.getMessage()));
      }
      return events;
    }
    if (wasDegraded) {
      events.add(new Transition(EventReason.SpecValid, "the spec is valid again"));
    }
    var gen = next.getObservedGeneration();
    if (old.getObservedGeneration() != null && !Objects.equals(old.getObservedGeneration(), gen)) {
      events.add(
          new Transition(
              EventReason.WorkloadsUpdated, "applied generation " + gen + " to the workloads"));
    }
    var phaseEvents =
        Map.of(
            RunPhase.Suspended,
            new Transition(EventReason.Suspended, "spec.suspend: workloads scaled to zero"),
            RunPhase.Succeeded,
            new Transition(
                EventReason.RunSucceeded,
                "checkpoint at step " + next.getStep() + " is Ready: the run is complete"));
    if (next.getPhase() != old.getPhase() && !born) {
      if (phaseEvents.containsKey(next.getPhase())) {
        events.add(phaseEvents.get(next.getPhase()));
      }
      if (old.getPhase() == RunPhase.Suspended) {
        events.add(new Transition(EventReason.Unsuspended, "spec.suspend cleared: scaling up"));
      }
    }
    var restarts = next.getRestarts() == null ? 0 : next.getRestarts();
    var oldRestarts = old.getRestarts() == null ? 0 : old.getRestarts();
    if (restarts > oldRestarts) {
      events.add(
          new Transition(
              EventReason.PodRecovering,
              "a trainer or orchestrator pod restarted (%d recoveries so far); it continues from"
                      .formatted(restarts)
                  + " the latest checkpoint of timeline "
                  + next.getTimeline()));
    }
    if (!Conditions.isTrue(old.getConditions(), Conditions.READY)
        && Conditions.isTrue(next.getConditions(), Conditions.READY)) {
      var ready = Conditions.find(next.getConditions(), Conditions.READY).orElseThrow();
      events.add(new Transition(EventReason.RunReady, ready.getMessage()));
    }
    return events;
  }
}
