package dev.stepwise.api.retention;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.api.CheckpointMetric;
import dev.stepwise.api.CheckpointMetrics;
import dev.stepwise.api.KeepBestSpec;
import dev.stepwise.api.MetricOrder;
import dev.stepwise.api.retention.RetentionDecision.QuotaState;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

class RetentionTest {

  /** Steps 10, 20, ..., 100, completed in step order, 100 bytes each, loss = 1/step. */
  private static List<StoredCheckpoint> tenCheckpoints() {
    return LongStream.rangeClosed(1, 10).mapToObj(i -> checkpoint(i * 10, 100L, 1.0 / i)).toList();
  }

  private static StoredCheckpoint checkpoint(long step, Long bytes, Double loss) {
    var metrics = new CheckpointMetrics();
    metrics.setLoss(loss);
    metrics.setMeanReward(loss == null ? null : -loss);
    return new StoredCheckpoint(step, completedAt(step), bytes, metrics, false);
  }

  private static String completedAt(long step) {
    return "2026-12-07T%02d:%02d:00Z".formatted(step / 60, step % 60);
  }

  private static StoredCheckpoint pinned(StoredCheckpoint c) {
    return new StoredCheckpoint(c.step(), c.completedAt(), c.sizeBytes(), c.metrics(), true);
  }

  private static RetentionDecision decide(RetentionRules rules, List<StoredCheckpoint> all) {
    return Retention.decide(rules, all, Set.of());
  }

  @Test
  void keepUnsetKeepsEverything() {
    var d = decide(RetentionRules.KEEP_ALL, tenCheckpoints());
    assertEquals(List.of(), d.deletedSteps());
    assertEquals(10, d.kept().size());
    assertEquals(QuotaState.NONE, d.quota().state());
  }

  @Test
  void keepRetiresAllButTheNewestNewestFirst() {
    var d = decide(new RetentionRules(3, null, null, null), tenCheckpoints());
    assertEquals(List.of(70L, 60L, 50L, 40L, 30L, 20L, 10L), d.deletedSteps());
    assertEquals(Set.of(80L, 90L, 100L), d.kept().keySet());
    assertEquals(List.of("newest 3"), d.kept().get(100L));
    assertTrue(d.deletions().get(0).reason().startsWith("beyond keep 3"));
  }

  @Test
  void newestIsByCompletionTimeNotStep() {
    // After a resume to step 20 the new timeline writes 30 later than the abandoned 90.
    var all = new ArrayList<StoredCheckpoint>();
    for (long step : new long[] {10, 20, 90}) {
      all.add(
          new StoredCheckpoint(
              step, "2026-12-07T01:00:" + (10 + step / 10) + "Z", 1L, null, false));
    }
    all.add(new StoredCheckpoint(30, "2026-12-07T02:00:00Z", 1L, null, false));
    var d = decide(new RetentionRules(2, null, null, null), all);
    assertEquals(Set.of(30L, 90L), d.kept().keySet());
  }

  @Test
  void pinnedNeverDeletedAndNotCountedTowardKeep() {
    var all = new ArrayList<>(tenCheckpoints());
    all.set(9, pinned(all.get(9))); // step 100 pinned
    all.set(0, pinned(all.get(0))); // step 10 pinned
    var d = decide(new RetentionRules(2, null, null, null), all);
    assertEquals(Set.of(10L, 80L, 90L, 100L), d.kept().keySet());
    assertEquals(List.of("pinned"), d.kept().get(10L));
  }

  @Test
  void protectedStepsStayAndCountTowardKeepWhileNewest() {
    var d =
        Retention.decide(
            new RetentionRules(2, null, null, null), tenCheckpoints(), Set.of(30L, 100L));
    assertEquals(Set.of(30L, 90L, 100L), d.kept().keySet());
    assertEquals(List.of("protected"), d.kept().get(30L));
  }

  @Test
  void keepEveryAddsMilestones() {
    var d = decide(new RetentionRules(2, 40, null, null), tenCheckpoints());
    assertEquals(Set.of(40L, 80L, 90L, 100L), d.kept().keySet());
    assertEquals(List.of("every 40"), d.kept().get(80L));
    assertEquals(List.of("newest 2"), d.kept().get(90L));
  }

  @Test
  void keepBestByLossKeepsTheLowest() {
    // loss = 1/i is lowest at the newest; reverse it so the best are old.
    var all = new ArrayList<StoredCheckpoint>();
    for (var c : tenCheckpoints()) {
      all.add(checkpoint(c.step(), 100L, (double) c.step()));
    }
    var d = decide(new RetentionRules(1, null, best(CheckpointMetric.loss, null, 2), null), all);
    assertEquals(Set.of(10L, 20L, 100L), d.kept().keySet());
    assertEquals(List.of("best 2 by loss"), d.kept().get(10L));
  }

  @Test
  void keepBestByRewardKeepsTheHighestAndOrderCanBeFlipped() {
    var all = tenCheckpoints(); // meanReward = -1/i: highest at the newest
    var byReward =
        decide(new RetentionRules(1, null, best(CheckpointMetric.meanReward, null, 3), null), all);
    assertEquals(Set.of(80L, 90L, 100L), byReward.kept().keySet());
    var flipped =
        decide(
            new RetentionRules(
                1, null, best(CheckpointMetric.meanReward, MetricOrder.min, 2), null),
            all);
    assertEquals(Set.of(10L, 20L, 100L), flipped.kept().keySet());
  }

  @Test
  void checkpointsWithoutTheMetricAreNotRanked() {
    var all = new ArrayList<>(tenCheckpoints());
    all.set(0, checkpoint(10, 100L, null));
    all.set(1, checkpoint(20, 100L, Double.NaN));
    // loss 1/i: best two by max order would be 10 and 20 if they had values.
    var d =
        decide(
            new RetentionRules(1, null, best(CheckpointMetric.loss, MetricOrder.max, 2), null),
            all);
    assertEquals(Set.of(30L, 40L, 100L), d.kept().keySet());
  }

  @Test
  void keepEveryAndKeepBestTogether() {
    var all = new ArrayList<StoredCheckpoint>();
    for (var c : tenCheckpoints()) {
      all.add(checkpoint(c.step(), 100L, c.step() == 30 ? 0.01 : 1.0));
    }
    var d = decide(new RetentionRules(2, 50, best(CheckpointMetric.loss, null, 1), null), all);
    assertEquals(Set.of(30L, 50L, 90L, 100L), d.kept().keySet());
    assertEquals(List.of("newest 2", "every 50"), d.kept().get(100L));
  }

  @Test
  void maxBytesDeletesOldestKeptButNeverTheNewest() {
    var d = decide(new RetentionRules(null, null, null, 350L), tenCheckpoints());
    assertEquals(List.of(70L, 60L, 50L, 40L, 30L, 20L, 10L), d.deletedSteps());
    assertEquals(300, d.keptBytes());
    assertEquals(QuotaState.WITHIN, d.quota().state());
    assertTrue(d.deletions().get(6).reason().startsWith("over maxBytes 350"));
  }

  @Test
  void maxBytesOverridesMilestonesAndBest() {
    var d =
        decide(
            new RetentionRules(3, 20, best(CheckpointMetric.loss, MetricOrder.max, 1), 250L),
            tenCheckpoints());
    // count rules keep 10 (best by max loss), 20, 40, 60, 80, 90, 100; the quota leaves 2.
    assertEquals(Set.of(90L, 100L), d.kept().keySet());
    assertEquals(QuotaState.WITHIN, d.quota().state());
  }

  @Test
  void protectedAloneOverQuotaIsReportedAndNothingProtectedIsDeleted() {
    var all = new ArrayList<>(tenCheckpoints());
    all.set(2, pinned(all.get(2))); // 30 pinned
    var d = Retention.decide(new RetentionRules(5, null, null, 150L), all, Set.of(50L));
    assertEquals(Set.of(30L, 50L, 100L), d.kept().keySet());
    assertEquals(QuotaState.EXCEEDED_BY_PROTECTED, d.quota().state());
    assertTrue(d.quota().message().contains("300 bytes, over maxBytes 150"), d.quota().message());
  }

  @Test
  void unknownSizesDoNotCountTowardTheQuota() {
    var all = List.of(checkpoint(10, null, 1.0), checkpoint(20, 100L, 1.0));
    var d = decide(new RetentionRules(null, null, null, 100L), all);
    assertEquals(List.of(), d.deletedSteps());
    assertEquals(QuotaState.WITHIN, d.quota().state());
  }

  @Test
  void extrasWithoutKeepAreRefused() {
    var e =
        assertThrows(
            IllegalArgumentException.class, () -> new RetentionRules(null, 10, null, null));
    assertTrue(e.getMessage().contains("set keep too"));
    assertThrows(
        IllegalArgumentException.class,
        () -> new RetentionRules(null, null, best(CheckpointMetric.loss, null, 1), null));
    assertThrows(IllegalArgumentException.class, () -> new RetentionRules(0, null, null, null));
  }

  private static KeepBestSpec best(CheckpointMetric metric, MetricOrder order, int count) {
    return new KeepBestSpec(metric, order, count);
  }
}
