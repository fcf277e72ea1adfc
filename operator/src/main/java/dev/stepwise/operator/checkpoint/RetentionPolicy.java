package dev.stepwise.operator.checkpoint;

import dev.stepwise.api.Checkpoint;
import dev.stepwise.api.retention.Retention;
import dev.stepwise.api.retention.RetentionDecision;
import dev.stepwise.api.retention.RetentionRules;
import dev.stepwise.api.retention.StoredCheckpoint;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * The run's {@code spec.ckpt} retention over its Checkpoint resources: {@link Retention}'s decision
 * (the same the local runtime applies to step folders) over the Ready ones. Checkpoints not Ready
 * (being written, or already being deleted) are never passed in, so never deleted; the resume point
 * and the steps other runs' {@code spec.init} start from are protected.
 */
public final class RetentionPolicy {

  private RetentionPolicy() {}

  /**
   * @param resumedFrom {@code status.resumedFrom}, protected; may be null
   * @param initSources steps other runs start from (their {@code spec.init}), protected
   */
  public static RetentionDecision decide(
      RunCheckpoints checkpoints, RetentionRules rules, Long resumedFrom, Set<Long> initSources) {
    var protectedSteps = new HashSet<>(initSources);
    if (resumedFrom != null) {
      protectedSteps.add(resumedFrom);
    }
    var stored = checkpoints.ready().stream().map(RetentionPolicy::stored).toList();
    return Retention.decide(rules, stored, protectedSteps);
  }

  /** The Checkpoints {@code decision} deletes, in its order. */
  public static List<Checkpoint> toDelete(RunCheckpoints checkpoints, RetentionDecision decision) {
    return decision.deletedSteps().stream()
        .flatMap(
            step ->
                checkpoints.ready().stream()
                    .filter(c -> Objects.equals(c.getSpec().getStep(), step)))
        .toList();
  }

  /** What {@code spec.ckpt.keep} alone deletes. */
  public static List<Checkpoint> toDelete(
      RunCheckpoints checkpoints, Integer keep, Long resumedFrom, Set<Long> initSources) {
    var rules = new RetentionRules(keep, null, null, null);
    return toDelete(checkpoints, decide(checkpoints, rules, resumedFrom, initSources));
  }

  /** What {@code spec.ckpt.keep} alone deletes, with no other run starting from this one. */
  public static List<Checkpoint> toDelete(
      RunCheckpoints checkpoints, Integer keep, Long resumedFrom) {
    return toDelete(checkpoints, keep, resumedFrom, Set.of());
  }

  private static StoredCheckpoint stored(Checkpoint c) {
    var status = c.getStatus();
    return new StoredCheckpoint(
        c.getSpec().getStep(),
        status.getCompletedAt(),
        status.getSizeBytes(),
        status.getMetrics(),
        Boolean.TRUE.equals(c.getSpec().getRetain()));
  }
}
