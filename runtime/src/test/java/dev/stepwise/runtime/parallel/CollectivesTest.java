package dev.stepwise.runtime.parallel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.runtime.config.Device;
import dev.stepwise.runtime.parallel.ProcessGroup.Collectives;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Which backend a run gets, and how NCCL fails where there is no GPU (CI has none). */
class CollectivesTest {

  @Test
  void cpuRunsUseGlooAndCudaRunsUseNccl() {
    assertEquals(Collectives.GLOO, Collectives.forDevice(Device.CPU));
    assertEquals(Collectives.NCCL, Collectives.forDevice(Device.CUDA));
    assertEquals("nccl", Collectives.NCCL.label());
  }

  @Test
  void aSingleProcessNeedsNoBackendEvenOnCuda() {
    try (var group = ProcessGroup.join(DistEnv.SINGLE, Duration.ofSeconds(5), Collectives.NCCL)) {
      assertFalse(group.distributed());
      assertEquals(Collectives.GLOO, group.collectives());
      assertFalse(group.reducesOnDevice());
    }
  }

  @Test
  void ncclWithoutCudaFailsNamingTheCause() {
    var env = new DistEnv(0, 1, 0, "127.0.0.1", Launcher.freePort());
    var e =
        assertThrows(
            PeerLostException.class,
            () -> ProcessGroup.connect(env, Duration.ofSeconds(10), Collectives.NCCL));
    assertTrue(e.getMessage().contains("NCCL process group"), e.getMessage());
    assertTrue(e.getMessage().contains("no CUDA device"), e.getMessage());
  }
}
