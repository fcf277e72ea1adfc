package dev.stepwise.operator.checkpoint;

import static dev.stepwise.operator.checkpoint.CheckpointsFixture.ckpt;
import static dev.stepwise.operator.checkpoint.CheckpointsFixture.of;
import static dev.stepwise.operator.checkpoint.CheckpointsFixture.ready;
import static dev.stepwise.operator.checkpoint.CheckpointsFixture.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.api.CheckpointPhase;
import dev.stepwise.api.RunPhase;
import dev.stepwise.api.TrainingRunStatus;
import dev.stepwise.operator.status.ConditionReason;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ResumeRequestTest {

  @Test
  void aResumeToAStepWithoutAReadyCheckpointIsRefusedNamingTheStepsThatExist() {
    var checkpoints = of(ready(5), ready(10), ckpt(15, CheckpointPhase.Pending, 0, false));
    var problem = ResumeRequest.problem(run(12L), checkpoints).orElseThrow();
    assertEquals("spec.resumeStep", problem.field());
    assertEquals(ConditionReason.CheckpointNotFound, problem.reason());
    assertEquals(
        "spec.resumeStep: no Ready checkpoint at step 12 of run r; Ready steps: 5, 10",
        problem.message());
    assertTrue(ResumeRequest.problem(run(15L), checkpoints).isPresent(), "15 is not Ready");
    assertEquals(Optional.empty(), ResumeRequest.problem(run(10L), checkpoints));
    assertEquals(Optional.empty(), ResumeRequest.problem(run(0L), of()), "0: from scratch");
    assertTrue(
        ResumeRequest.problem(run(10L), of())
            .orElseThrow()
            .message()
            .endsWith("Ready steps: none"));
  }

  @Test
  void onlyAStepTheWorkloadsDidNotResumeFromIsANewRequest() {
    var run = run(10L);
    assertTrue(ResumeRequest.isNew(run));
    var status = new TrainingRunStatus();
    status.setResumedFrom(10L);
    run.setStatus(status);
    assertFalse(ResumeRequest.isNew(run));
    assertEquals(Optional.empty(), ResumeRequest.problem(run, of()), "accepted before: no check");
    assertFalse(ResumeRequest.isNew(run(null)));
  }

  @Test
  void aNewResumeNonceAsksForTheSameStepAgainAndAcceptingRecordsIt() {
    var run = run(10L);
    var status = new TrainingRunStatus();
    status.setResumedFrom(10L);
    run.setStatus(status);
    run.getSpec().setResumeNonce(1L);
    assertTrue(ResumeRequest.isNew(run), "same step, new nonce");

    var accepted = ResumeRequest.accept(run, status);

    assertEquals(1L, accepted.getResumeNonce());
    run.setStatus(accepted);
    assertFalse(ResumeRequest.isNew(run), "that nonce was done");
    run.getSpec().setResumeStep(null);
    assertFalse(ResumeRequest.isNew(run), "a nonce alone asks for nothing");
  }

  @Test
  void acceptingStartsATimelineNamedByTheGenerationSoARetryAgreesWithIt() {
    var status = new TrainingRunStatus();
    status.setTimeline(0L);
    var accepted = ResumeRequest.accept(run(10L), status);
    assertEquals(4L, accepted.getTimeline());
    assertEquals(10L, accepted.getResumedFrom());
    assertEquals(RunPhase.Resuming, accepted.getPhase());
    assertEquals(4L, ResumeRequest.accept(run(10L), new TrainingRunStatus()).getTimeline());
  }

  @Test
  void progressCountsOnlyTheCurrentTimeline() {
    var checkpoints = of(ready(5), ready(10), ready(15), ckpt(20, CheckpointPhase.Ready, 0, false));
    assertEquals(20L, checkpoints.latestOfTimeline(0, null));
    assertEquals(10L, checkpoints.latestOfTimeline(4, 10L), "nothing of timeline 4 yet");
    var rewritten = of(ready(5), ready(10), ckpt(15, CheckpointPhase.Ready, 4, false), ready(20));
    assertEquals(15L, rewritten.latestOfTimeline(4, 10L), "20 belongs to an abandoned timeline");
    assertEquals(null, of().latestOfTimeline(0, null));
  }
}
