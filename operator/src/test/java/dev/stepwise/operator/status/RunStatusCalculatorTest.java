package dev.stepwise.operator.status;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.api.RunPhase;
import dev.stepwise.api.RunType;
import dev.stepwise.api.TrainingRun;
import dev.stepwise.api.TrainingRunSpec;
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
        RunTransitions.between(run.getStatus(), ready, false).stream()
            .map(RunTransitions.Transition::reason)
            .toList());
  }
}
