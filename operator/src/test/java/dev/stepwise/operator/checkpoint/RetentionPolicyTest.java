package dev.stepwise.operator.checkpoint;

import static dev.stepwise.operator.checkpoint.CheckpointsFixture.ckpt;
import static dev.stepwise.operator.checkpoint.CheckpointsFixture.of;
import static dev.stepwise.operator.checkpoint.CheckpointsFixture.ready;
import static dev.stepwise.operator.checkpoint.CheckpointsFixture.steps;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.stepwise.api.CheckpointPhase;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class RetentionPolicyTest {

  @Test
  void theOldestReadyCheckpointsBeyondKeepGo() {
    var all = of(ready(5), ready(10), ready(15), ready(20));
    assertEquals(List.of(10L, 5L), steps(RetentionPolicy.toDelete(all, 2, null)));
    assertEquals(List.of(), RetentionPolicy.toDelete(all, 4, null));
    assertEquals(List.of(), RetentionPolicy.toDelete(all, null, null), "no keep: keep all");
  }

  @Test
  void pinnedOnesNeitherGoNorCount() {
    var all = of(ckpt(5, CheckpointPhase.Ready, 0, true), ready(10), ready(15), ready(20));
    assertEquals(List.of(10L), steps(RetentionPolicy.toDelete(all, 2, null)));
  }

  @Test
  void theResumePointAndCheckpointsNotReadyNeverGo() {
    var all =
        of(
            ready(5),
            ready(10),
            ckpt(12, CheckpointPhase.Pending, 0, false),
            ckpt(13, CheckpointPhase.Deleting, 0, false),
            ready(15),
            ready(20));
    assertEquals(List.of(5L), steps(RetentionPolicy.toDelete(all, 2, 10L)));
  }

  @Test
  void aCheckpointAnotherRunStartsFromNeverGoes() {
    // Runs whose spec.init names steps 5 and 20: 20 is among the newest two and counts toward
    // keep; 5 is beyond keep and stays anyway.
    var all = of(ready(5), ready(10), ready(15), ready(20));
    assertEquals(List.of(10L), steps(RetentionPolicy.toDelete(all, 2, null, Set.of(5L, 20L))));
    assertEquals(List.of(5L), steps(RetentionPolicy.toDelete(all, 2, 10L, Set.of(20L))));
  }

  @Test
  void newestIsByCompletionTimeSoAnAbandonedTimelineGoesFirst() {
    // Timeline 1 resumed from 5 and rewrote 10 after timeline 0 had written 15 and 20.
    var rewritten = ckpt(10, CheckpointPhase.Ready, 1, false);
    rewritten.getStatus().setCompletedAt("2026-01-01T01:00:00Z");
    var all = of(ready(5), rewritten, ready(15), ready(20));
    assertEquals(List.of(15L, 5L), steps(RetentionPolicy.toDelete(all, 2, null)));
    assertEquals(List.of(15L), steps(RetentionPolicy.toDelete(all, 2, 5L)));
  }
}
