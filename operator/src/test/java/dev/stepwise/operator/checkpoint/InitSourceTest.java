package dev.stepwise.operator.checkpoint;

import static dev.stepwise.operator.checkpoint.CheckpointsFixture.ckpt;
import static dev.stepwise.operator.checkpoint.CheckpointsFixture.ready;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.stepwise.api.Checkpoint;
import dev.stepwise.api.CheckpointPhase;
import dev.stepwise.api.InitCheckpointSpec;
import dev.stepwise.api.InitSpec;
import dev.stepwise.api.RunType;
import dev.stepwise.api.TrainingRun;
import dev.stepwise.api.TrainingRunSpec;
import dev.stepwise.operator.status.ConditionReason;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

class InitSourceTest {

  /** The source run "r" of CheckpointsFixture; its checkpoints are ckpt(...)/ready(...). */
  private static final TrainingRun SOURCE = CheckpointsFixture.run(null);

  @Test
  void aReadySourceCheckpointIsNoProblem() {
    var rl = rl("rl", "r", 10);
    assertEquals(
        Optional.empty(),
        InitSource.problem(rl, Optional.of(SOURCE), List.of(ready(5), ready(10))));
    assertEquals(
        Optional.empty(),
        InitSource.problem(rl(null, null, 0), Optional.empty(), List.of()),
        "no spec.init");
  }

  @Test
  void aMissingCheckpointNamesTheFieldAndListsTheReadySteps() {
    var problem =
        InitSource.problem(rl("rl", "r", 12), Optional.of(SOURCE), List.of(ready(5), ready(10)))
            .orElseThrow();
    assertEquals(ConditionReason.InitCheckpointNotFound, problem.reason());
    assertEquals(
        "spec.init.checkpoint: no Ready checkpoint at step 12 of run r (Checkpoint r-step-12 does"
            + " not exist); Ready steps: 5, 10",
        problem.message());
  }

  @Test
  void aCheckpointNotReadyYetOrBeingDeletedIsAProblem() {
    var pending = ckpt(10, CheckpointPhase.Pending, 0, false);
    var problem =
        InitSource.problem(rl("rl", "r", 10), Optional.of(SOURCE), List.of(ready(5), pending))
            .orElseThrow();
    assertEquals(
        "spec.init.checkpoint: no Ready checkpoint at step 10 of run r (Checkpoint r-step-10 is"
            + " Pending); Ready steps: 5",
        problem.message());
    var deleting = ready(10);
    deleting.getMetadata().setDeletionTimestamp("2026-01-01T00:00:00Z");
    assertEquals(
        "spec.init.checkpoint: no Ready checkpoint at step 10 of run r (Checkpoint r-step-10 is"
            + " being deleted); Ready steps: none",
        InitSource.problem(rl("rl", "r", 10), Optional.of(SOURCE), List.of(deleting))
            .orElseThrow()
            .message());
  }

  @Test
  void aMissingSourceRunOrItselfAreProblems() {
    var missing =
        InitSource.problem(rl("rl", "sft", 10), Optional.empty(), List.of()).orElseThrow();
    assertEquals(ConditionReason.InitCheckpointNotFound, missing.reason());
    assertEquals(
        "spec.init.checkpoint: TrainingRun \"sft\" not found in namespace \"ns\"; create it and"
            + " let it reach step 10",
        missing.message());
    assertEquals(
        "spec.init.checkpoint.trainingRun",
        InitSource.problem(rl("r", "r", 10), Optional.of(SOURCE), List.of(ready(10)))
            .orElseThrow()
            .field());
  }

  @Test
  void anSftRunStartsFromAReadyCheckpointLikeAnRlRun() {
    var sft = rl("s", "r", 10);
    sft.getSpec().setType(RunType.SFT);
    assertEquals(
        Optional.empty(), InitSource.problem(sft, Optional.of(SOURCE), List.of(ready(10))));
    var notYet = InitSource.problem(sft, Optional.of(SOURCE), List.of(ready(5))).orElseThrow();
    assertEquals(ConditionReason.InitCheckpointNotFound, notYet.reason());
    assertEquals("spec.init.checkpoint", notYet.field());
  }

  @Test
  void theRunsStartingFromACheckpointKeepIt() {
    var runs =
        List.of(rl("rl-b", "r", 10), rl("rl-a", "r", 10), rl("rl-c", "r", 5), rl("x", null, 0));
    Checkpoint ten = ready(10);
    assertEquals(List.of("rl-a", "rl-b"), InitSource.runsStartingFrom(ten, runs));
    assertEquals(Set.of(5L, 10L), InitSource.stepsUsedBy(SOURCE, runs));
    var gone = rl("rl-d", "r", 15);
    gone.getMetadata().setDeletionTimestamp("2026-01-01T00:00:00Z");
    assertEquals(List.of(), InitSource.runsStartingFrom(ready(15), List.of(gone)));
    assertEquals(List.of("ns/r"), InitSource.indexKeys(rl("rl", "r", 10)));
  }

  /** An rl run named {@code name} whose spec.init names step {@code step} of {@code source}. */
  private static TrainingRun rl(String name, String source, long step) {
    var run = new TrainingRun();
    run.setMetadata(
        new ObjectMetaBuilder()
            .withName(name == null ? "plain" : name)
            .withNamespace("ns")
            .build());
    var spec = new TrainingRunSpec();
    spec.setType(RunType.RL);
    spec.setMaxSteps(20L);
    if (source != null) {
      var ref = new InitCheckpointSpec();
      ref.setTrainingRun(source);
      ref.setStep(step);
      var init = new InitSpec();
      init.setCheckpoint(ref);
      spec.setInit(init);
    }
    run.setSpec(spec);
    return run;
  }
}
