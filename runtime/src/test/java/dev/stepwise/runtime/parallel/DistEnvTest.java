package dev.stepwise.runtime.parallel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.runtime.config.ConfigException;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DistEnvTest {

  @Test
  void noVariablesMeansOneProcess() {
    var env = DistEnv.from(Map.of());
    assertEquals(DistEnv.SINGLE, env);
    assertFalse(env.distributed());
  }

  @Test
  void readsTorchrunNames() {
    var env =
        DistEnv.from(
            Map.of(
                "RANK",
                "2",
                "WORLD_SIZE",
                "4",
                "MASTER_ADDR",
                "r-trainer-0.r-trainer",
                "LOCAL_RANK",
                "0"));
    assertEquals(new DistEnv(2, 4, 0, "r-trainer-0.r-trainer", 29500), env);
    assertTrue(env.distributed());
  }

  @Test
  void badVariablesAreNamed() {
    var e =
        assertThrows(
            ConfigException.class,
            () -> DistEnv.from(Map.of("RANK", "4", "WORLD_SIZE", "4", "MASTER_PORT", "x")));
    var all = String.join("\n", e.problems());
    assertTrue(all.contains("RANK=4 is out of range (0..3)"), all);
    assertTrue(all.contains("MASTER_PORT=x is not an integer"), all);
    assertTrue(all.contains("MASTER_ADDR is not set"), all);
  }
}
