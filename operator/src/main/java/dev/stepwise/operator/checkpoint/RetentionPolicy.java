package dev.stepwise.operator.checkpoint;

import dev.stepwise.api.Checkpoint;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Which Checkpoints {@code ckpt.keep} retires: among the run's Ready, unpinned ones, newest first
 * (by completion time, then step), those beyond {@code keep}. Never a pinned one ({@code
 * spec.retain}), never the one the run resumed from, never one another run's {@code spec.init}
 * starts from, never one that is not Ready (still being written, or already being deleted). Pinned
 * ones do not count toward {@code keep}.
 */
public final class RetentionPolicy {

  private static final Comparator<Checkpoint> NEWEST_FIRST =
      Comparator.comparing(
              (Checkpoint c) -> Objects.requireNonNullElse(c.getStatus().getCompletedAt(), ""))
          .thenComparing(c -> c.getSpec().getStep())
          .reversed();

  private RetentionPolicy() {}

  /**
   * @param keep {@code spec.ckpt.keep}; null keeps everything
   * @param resumedFrom {@code status.resumedFrom}, protected; may be null
   */
  public static List<Checkpoint> toDelete(
      RunCheckpoints checkpoints, Integer keep, Long resumedFrom) {
    return toDelete(checkpoints, keep, resumedFrom, Set.of());
  }

  /**
   * @param keep {@code spec.ckpt.keep}; null keeps everything
   * @param resumedFrom {@code status.resumedFrom}, protected; may be null
   * @param initSources steps other runs start from (their {@code spec.init}), protected like
   *     resumedFrom: they count toward {@code keep} while among the newest, and are never deleted
   */
  public static List<Checkpoint> toDelete(
      RunCheckpoints checkpoints, Integer keep, Long resumedFrom, Set<Long> initSources) {
    if (keep == null) {
      return List.of();
    }
    return checkpoints.ready().stream()
        .filter(c -> !Boolean.TRUE.equals(c.getSpec().getRetain()))
        .sorted(NEWEST_FIRST)
        .skip(keep)
        .filter(c -> !Objects.equals(c.getSpec().getStep(), resumedFrom))
        .filter(c -> !initSources.contains(c.getSpec().getStep()))
        .toList();
  }
}
