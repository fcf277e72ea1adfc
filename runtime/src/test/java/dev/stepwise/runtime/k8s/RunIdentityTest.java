package dev.stepwise.runtime.k8s;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.api.Constants;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class RunIdentityTest {

  @Test
  void onlyRankZeroOfAPodOfTheOperatorReports() {
    assertEquals(Optional.empty(), RunIdentity.fromEnvironment(Map.of()), "locally: nothing");
    var pod =
        Map.of(
            Constants.ENV_TRAINING_RUN,
            "r",
            Constants.ENV_NAMESPACE,
            "ns",
            Constants.ENV_RUN_UID,
            "u-1");
    assertEquals(Optional.of(new RunIdentity("r", "ns", "u-1")), RunIdentity.fromEnvironment(pod));
    var rank1 = new java.util.HashMap<>(pod);
    rank1.put("RANK", "1");
    assertEquals(Optional.empty(), RunIdentity.fromEnvironment(rank1));
    assertEquals("r-step-20", new RunIdentity("r", "ns", null).checkpointName(20));
  }

  @Test
  void aRunWithoutANamespaceIsAClearError() {
    var e =
        assertThrows(
            IllegalStateException.class,
            () -> RunIdentity.fromEnvironment(Map.of(Constants.ENV_TRAINING_RUN, "r")));
    assertTrue(e.getMessage().contains(Constants.ENV_NAMESPACE), e.getMessage());
  }
}
