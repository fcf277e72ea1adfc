package dev.stepwise.operator.status;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.api.RunPhase;
import dev.stepwise.api.RunProgress;
import dev.stepwise.api.RunType;
import dev.stepwise.api.TrainingRun;
import dev.stepwise.api.TrainingRunSpec;
import dev.stepwise.api.retention.RetentionDecision.Quota;
import dev.stepwise.api.retention.RetentionDecision.QuotaState;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.util.List;
import org.junit.jupiter.api.Test;

class RunStatusCalculatorTest {

  static TrainingRun run() {
    var run = new TrainingRun();
    run.setMetadata(new ObjectMetaBuilder().withName("r").withGeneration(3L).build());
    var spec = new TrainingRunSpec();
    spec.setType(RunType.SFT);
    spec.setMaxSteps(10L);
    run.setSpec(spec);
    return run;
  }

  @Test
  void anUnchangedWorldLeavesStatusAndTransitionTimesAlone() {
    var run = run();
    var first = RunStatusCalculator.reconciled(run, List.of(new Workload("trainer", 1, 0)), "T1");
    run.setStatus(first);
    var second = RunStatusCalculator.reconciled(run, List.of(new Workload("trainer", 1, 0)), "T2");
    assertFalse(RunStatusCalculator.changed(run.getStatus(), second));
    assertEquals(
        "T1",
        Conditions.find(second.getConditions(), "Ready").orElseThrow().getLastTransitionTime());
  }

  @Test
  void readinessFlipsReadyAndProgressingAndRecordsTheTransition() {
    var run = run();
    run.setStatus(
        RunStatusCalculator.reconciled(run, List.of(new Workload("trainer", 1, 0)), "T1"));
    var ready = RunStatusCalculator.reconciled(run, List.of(new Workload("trainer", 1, 1)), "T2");
    assertTrue(RunStatusCalculator.changed(run.getStatus(), ready));
    assertEquals(RunPhase.Running, ready.getPhase());
    var condition = Conditions.find(ready.getConditions(), "Ready").orElseThrow();
    assertEquals("True", condition.getStatus());
    assertEquals("WorkloadsReady", condition.getReason());
    assertEquals("T2", condition.getLastTransitionTime());
    assertEquals(3L, ready.getObservedGeneration());
    assertEquals(
        List.of(EventReason.RunReady),
        RunTransitions.between(run.getStatus(), ready).stream()
            .map(RunTransitions.Transition::reason)
            .toList());
  }

  @Test
  void theTrainersProgressIsCarriedAsItIsAndACopyIsDeep() {
    var run = run();
    run.setStatus(
        RunStatusCalculator.reconciled(run, List.of(new Workload("trainer", 1, 1)), "T1"));
    var progress = new RunProgress();
    progress.setStep(7L);
    progress.setLoss(0.25);
    run.getStatus().setProgress(progress);
    var next = RunStatusCalculator.reconciled(run, List.of(new Workload("trainer", 1, 1)), "T2");
    assertEquals(progress, next.getProgress());
    assertFalse(RunStatusCalculator.changed(run.getStatus(), next));
    next.getProgress().setStep(8L);
    assertEquals(7L, run.getStatus().getProgress().getStep(), "the copy shares nothing");
  }

  @Test
  void theQuotaConditionFollowsTheDecisionAndGoesAwayWithoutAQuota() {
    var run = run();
    var base = RunStatusCalculator.reconciled(run, List.of(new Workload("trainer", 1, 1)), "T1");
    var over =
        RunStatusCalculator.withQuota(
            run, base, new Quota(QuotaState.EXCEEDED_BY_PROTECTED, "too big"), "T1");
    var quota = Conditions.find(over.getConditions(), Conditions.CHECKPOINT_QUOTA).orElseThrow();
    assertEquals("False", quota.getStatus());
    assertEquals("ProtectedCheckpointsExceedQuota", quota.getReason());
    var within =
        RunStatusCalculator.withQuota(run, over, new Quota(QuotaState.WITHIN, "fits"), "T2");
    assertTrue(Conditions.isTrue(within.getConditions(), Conditions.CHECKPOINT_QUOTA));
    var none = RunStatusCalculator.withQuota(run, within, new Quota(QuotaState.NONE, null), "T3");
    assertTrue(Conditions.find(none.getConditions(), Conditions.CHECKPOINT_QUOTA).isEmpty());
  }

  @Test
  void aFailedReconcileMakesReadyFalseWithTheError() {
    var run = run();
    run.setStatus(
        RunStatusCalculator.reconciled(run, List.of(new Workload("trainer", 1, 1)), "T1"));
    var failed = RunStatusCalculator.failedReconcile(run, "reconcile failed, retrying: boom", "T2");
    var ready = Conditions.find(failed.getConditions(), Conditions.READY).orElseThrow();
    assertEquals("False", ready.getStatus());
    assertEquals("ReconcileError", ready.getReason());
    assertEquals(RunPhase.Running, failed.getPhase(), "the phase stays as observed");
  }
}
