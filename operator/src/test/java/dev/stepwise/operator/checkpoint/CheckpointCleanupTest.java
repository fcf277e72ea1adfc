package dev.stepwise.operator.checkpoint;

import static dev.stepwise.operator.checkpoint.CheckpointsFixture.ready;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.api.Checkpoint;
import dev.stepwise.api.CheckpointPhase;
import dev.stepwise.api.TrainingRun;
import dev.stepwise.api.TrainingRunStatus;
import dev.stepwise.operator.checkpoint.CheckpointCleanup.Action;
import dev.stepwise.operator.status.EventReason;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobStatus;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class CheckpointCleanupTest {

  private static Checkpoint deleting(long step) {
    var c = ready(step);
    c.getMetadata().setUid("uid-" + step);
    c.getMetadata().setDeletionTimestamp("2026-12-07T00:00:00Z");
    return c;
  }

  private static TrainingRun run(Long resumedFrom) {
    var run = new TrainingRun();
    run.setMetadata(new ObjectMetaBuilder().withName("run").withNamespace("ns").build());
    var status = new TrainingRunStatus();
    status.setResumedFrom(resumedFrom);
    run.setStatus(status);
    return run;
  }

  private static Optional<Job> job(Integer succeeded, Integer failed) {
    var job = new Job();
    job.setMetadata(new ObjectMetaBuilder().withName("run-cleanup-step-5").build());
    var status = new JobStatus();
    status.setSucceeded(succeeded);
    status.setFailed(failed);
    job.setStatus(status);
    return Optional.of(job);
  }

  private static CheckpointCleanup.Decision decide(
      Checkpoint c, TrainingRun run, List<String> startingFrom, Optional<Job> job) {
    return CheckpointCleanup.decide(c, "uid-5", run, startingFrom, job);
  }

  @Test
  void goneOrRunGoneReleasesWithoutAJob() {
    assertEquals(Action.RELEASE, decide(null, run(null), List.of(), Optional.empty()).action());
    assertEquals(Action.RELEASE, decide(deleting(5), null, List.of(), Optional.empty()).action());
  }

  @Test
  void aNewerObjectOfTheSameNameWaits() {
    var newer = deleting(5);
    newer.getMetadata().setUid("uid-other");
    assertEquals(Action.WAIT, decide(newer, run(null), List.of(), Optional.empty()).action());
  }

  @Test
  void theResumePointAndInitSourcesAreDeferred() {
    var resume = decide(deleting(5), run(5L), List.of(), Optional.empty());
    assertEquals(Action.DEFER, resume.action());
    assertEquals(CheckpointPhase.Ready, resume.phase());
    assertEquals(EventReason.CleanupDeferred, resume.event());
    var init = decide(deleting(5), run(null), List.of("child"), Optional.empty());
    assertEquals(Action.DEFER, init.action());
    assertTrue(init.message().contains("child"), init.message());
  }

  @Test
  void aJobIsStartedThenAwaitedThenReleased() {
    var start = decide(deleting(5), run(null), List.of(), Optional.empty());
    assertEquals(Action.START_JOB, start.action());
    assertEquals(CheckpointPhase.Deleting, start.phase());
    assertTrue(start.message().contains("checkpoints/step_5"), start.message());
    var running = decide(deleting(5), run(null), List.of(), job(null, 1));
    assertEquals(Action.WAIT, running.action());
    assertNull(running.event());
    var done = decide(deleting(5), run(null), List.of(), job(1, null));
    assertEquals(Action.RELEASE, done.action());
    assertEquals(EventReason.DataDeleted, done.event());
  }

  @Test
  void aJobFailedBeyondItsBackoffIsReported() {
    var failed = decide(deleting(5), run(null), List.of(), job(0, 4));
    assertEquals(Action.REPORT_FAILED_JOB, failed.action());
    assertEquals(CheckpointPhase.Failed, failed.phase());
    assertEquals(EventReason.CleanupFailed, failed.event());
  }
}
