package dev.stepwise.operator.validation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.operator.Fixtures;
import dev.stepwise.operator.status.ConditionReason;
import io.fabric8.kubernetes.api.model.Quantity;
import org.junit.jupiter.api.Test;

class TrainingRunValidatorTest {

  @Test
  void validTomlPasses() {
    assertTrue(
        TrainingRunValidator.tomlProblem("spec.trainer.config", "[optim]\nlr = 3e-4\n").isEmpty());
  }

  @Test
  void malformedTomlNamesFieldAndLine() {
    var problem =
        TrainingRunValidator.tomlProblem("spec.orchestrator.config", "a = 1\nb = \n").orElseThrow();
    assertEquals(ConditionReason.InvalidConfig, problem.reason());
    assertTrue(
        problem.message().startsWith("spec.orchestrator.config: not valid TOML at line 2"),
        problem.message());
  }

  @Test
  void aQuotaThatIsNotWholeBytesNamesTheField() {
    var run = Fixtures.example("sft-run.yaml", "ns");
    run.getSpec().getCkpt().setMaxBytes(new Quantity("100m"));
    var problem = new TrainingRunValidator().validate(run, null).orElseThrow();
    assertEquals("spec.ckpt.maxBytes", problem.field());
    assertEquals(ConditionReason.InvalidSpec, problem.reason());
    run.getSpec().getCkpt().setMaxBytes(new Quantity("1Gi"));
    assertTrue(new TrainingRunValidator().validate(run, null).isEmpty());
  }
}
