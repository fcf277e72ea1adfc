package dev.stepwise.operator.status;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.stepwise.api.RunPhase;
import java.util.List;
import org.junit.jupiter.api.Test;

class RunTransitionsTest {

  private static List<EventReason> reasons(
      dev.stepwise.api.TrainingRunStatus before, dev.stepwise.api.TrainingRunStatus after) {
    return RunTransitions.between(before, after).stream()
        .map(RunTransitions.Transition::reason)
        .toList();
  }

  @Test
  void aNewRunGetsNoEventEvenWhenItStartsSuspended() {
    var run = RunStatusCalculatorTest.run();
    run.getSpec().setSuspend(true);
    var first = RunStatusCalculator.reconciled(run, List.of(new Workload("trainer", 0, 0)), "T1");
    assertEquals(RunPhase.Suspended, first.getPhase());

    assertEquals(List.of(), reasons(null, first));
  }

  @Test
  void suspendingARunningRunAndAppliedGenerationsAreEvents() {
    var run = RunStatusCalculatorTest.run();
    var running = RunStatusCalculator.reconciled(run, List.of(new Workload("trainer", 1, 1)), "T1");
    run.setStatus(running);
    run.getSpec().setSuspend(true);
    run.getMetadata().setGeneration(4L);
    var suspended =
        RunStatusCalculator.reconciled(run, List.of(new Workload("trainer", 0, 0)), "T2");
    assertEquals(RunPhase.Suspended, suspended.getPhase());

    assertEquals(
        List.of(EventReason.WorkloadsUpdated, EventReason.Suspended), reasons(running, suspended));
  }
}
