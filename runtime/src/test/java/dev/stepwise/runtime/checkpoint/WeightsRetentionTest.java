package dev.stepwise.runtime.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

class WeightsRetentionTest {

  private static List<Long> steps(long from, long to) {
    return LongStream.rangeClosed(from, to).boxed().toList();
  }

  @Test
  void keepsEachCheckpointsWindowAndEverythingTheLiveRunCanStillNeed() {
    // Checkpoints 5 and 10, async level 1, the live run would recover from 10.
    assertEquals(
        List.of(0L, 1L, 2L, 3L, 6L, 7L, 8L),
        WeightsRetention.unneeded(steps(0, 12), List.of(5L, 10L), 10, 1, 11));
  }

  @Test
  void withoutACheckpointTheLiveRunNeedsEverythingFromItsOrigin() {
    assertEquals(List.of(), WeightsRetention.unneeded(steps(0, 4), List.of(), 0, 1, 3));
    // A resumed timeline (origin 10) without a checkpoint of its own yet: 9 and 10 onward stay.
    assertEquals(
        List.of(0L, 1L, 2L, 3L, 6L, 7L, 8L),
        WeightsRetention.unneeded(steps(0, 14), List.of(5L, 10L), 10, 1, 13));
  }

  @Test
  void aWiderAsyncLevelWidensEveryWindowAndTheServedWeightsAlwaysStay() {
    assertEquals(
        List.of(0L, 1L, 5L), WeightsRetention.unneeded(steps(0, 10), List.of(4L), 8, 2, 7));
    // Inference still serves step 1 (say, the orchestrator is slow): it stays.
    assertEquals(List.of(0L, 5L), WeightsRetention.unneeded(steps(0, 10), List.of(4L), 8, 2, 1));
  }

  @Test
  void aCheckpointDeletedByRetentionReleasesItsWindow() {
    assertEquals(
        List.of(0L, 1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L),
        WeightsRetention.unneeded(steps(0, 11), List.of(10L), 10, 1, 10));
  }
}
