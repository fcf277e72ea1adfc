package dev.stepwise.api.retention;

import java.util.List;
import java.util.Map;

/**
 * What retention decided for a run's complete checkpoints.
 *
 * @param deletions the checkpoints to delete, newest first, each with why
 * @param kept every checkpoint kept, with the rules that keep it (e.g. "newest 3", "every 100",
 *     "best 2 by loss", "pinned")
 * @param keptBytes total size of the kept checkpoints (those of known size)
 * @param quota whether maxBytes holds after the deletions
 */
public record RetentionDecision(
    List<Deletion> deletions, Map<Long, List<String>> kept, long keptBytes, Quota quota) {

  /** A checkpoint to delete and the rule that retires it. */
  public record Deletion(long step, String reason) {}

  /** maxBytes after the decision. */
  public record Quota(QuotaState state, String message) {}

  public enum QuotaState {
    /** No maxBytes is set. */
    NONE,
    /** The kept checkpoints fit in maxBytes. */
    WITHIN,
    /** Protected checkpoints alone exceed maxBytes: nothing more may be deleted. */
    EXCEEDED_BY_PROTECTED
  }

  public List<Long> deletedSteps() {
    return deletions.stream().map(Deletion::step).toList();
  }
}
