package dev.stepwise.runtime.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.runtime.config.ConfigException;
import dev.stepwise.runtime.config.Device;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

class DevicesTest {

  @Test
  void cpuIsAlwaysAvailable() {
    assertEquals("cpu", Devices.of(Device.CPU).str().getString());
  }

  @Test
  void cudaWithoutAGpuIsRefusedNamingTheDeviceKey() {
    if (torch.cuda_is_available()) {
      assertEquals("cuda", Devices.of(Device.CUDA).str().getString());
      return;
    }
    var e = assertThrows(ConfigException.class, () -> Devices.of(Device.CUDA));
    assertTrue(e.getMessage().startsWith("device: cuda"), e.getMessage());
    assertTrue(e.getMessage().contains("no CUDA device"), e.getMessage());
  }
}
