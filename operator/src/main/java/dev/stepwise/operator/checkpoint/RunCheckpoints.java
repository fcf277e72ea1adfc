package dev.stepwise.operator.checkpoint;

import dev.stepwise.api.Checkpoint;
import dev.stepwise.api.CheckpointPhase;
import dev.stepwise.api.TrainingRun;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.stream.Collectors;

/** The Checkpoint resources of one run, as the informer cache shows them. */
public record RunCheckpoints(List<Checkpoint> all) {

  /** Those of {@code run} among {@code checkpoints}, ordered by step. */
  public static RunCheckpoints of(TrainingRun run, Collection<Checkpoint> checkpoints) {
    var name = run.getMetadata().getName();
    return new RunCheckpoints(
        checkpoints.stream()
            .filter(c -> c.getSpec() != null && name.equals(c.getSpec().getTrainingRun()))
            .filter(c -> c.getSpec().getStep() != null)
            .sorted(Comparator.comparing(c -> c.getSpec().getStep()))
            .toList());
  }

  /** Ready and not being deleted: a checkpoint a resume may point at. */
  public static boolean isReady(Checkpoint c) {
    return c.getStatus() != null
        && c.getStatus().getPhase() == CheckpointPhase.Ready
        && c.getMetadata().getDeletionTimestamp() == null;
  }

  public List<Checkpoint> ready() {
    return all.stream().filter(RunCheckpoints::isReady).toList();
  }

  public List<Long> readySteps() {
    return ready().stream().map(c -> c.getSpec().getStep()).toList();
  }

  public boolean isReady(long step) {
    return ready().stream().anyMatch(c -> c.getSpec().getStep() == step);
  }

  /** "5, 10" or "none", for messages. */
  public String describeReady() {
    var steps = readySteps();
    return steps.isEmpty()
        ? "none"
        : steps.stream().map(String::valueOf).collect(Collectors.joining(", "));
  }

  /**
   * The last durable step of the current history: the newest Ready checkpoint written by {@code
   * timeline} after {@code resumedFrom}, else {@code resumedFrom} itself; null when there is none.
   * Checkpoints of abandoned timelines never count.
   */
  public Long latestOfTimeline(long timeline, Long resumedFrom) {
    var floor = resumedFrom == null ? 0 : resumedFrom;
    var latest =
        ready().stream()
            .filter(c -> Objects.equals(timelineOf(c), timeline))
            .map(c -> c.getSpec().getStep())
            .filter(step -> step > floor)
            .max(Long::compare);
    if (latest.isPresent()) {
      return latest.get();
    }
    return resumedFrom != null && resumedFrom > 0 ? resumedFrom : null;
  }

  static Long timelineOf(Checkpoint c) {
    var t = c.getStatus() == null ? null : c.getStatus().getTimeline();
    return t == null ? 0L : t;
  }
}
