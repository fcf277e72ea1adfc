package dev.stepwise.runtime.trainer;

import java.util.HashMap;
import java.util.Map;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/**
 * Host memory that checkpoint snapshots are copied into, allocated on first use and reused by every
 * later save, so that taking a snapshot is one copy into memory that is already mapped: no
 * allocation and no page faults on the training thread. For CUDA tensors the buffers are pinned, so
 * the device-to-host copy runs at the bus's speed. A snapshot taken into these buffers must be
 * written before the next one is taken ({@link CheckpointSaver} waits for that).
 */
public final class HostBuffers {

  private final Map<String, Tensor> buffers = new HashMap<>();

  /** A host copy of {@code live} in the buffer kept for {@code name}. */
  public Tensor copyOf(String name, Tensor live) {
    var buffer = buffers.get(name);
    if (buffer == null || !fits(buffer, live)) {
      buffer =
          torch.empty(
              live.sizes().vec().get(),
              new TensorOptions(live.scalar_type()),
              new MemoryFormatOptional());
      if (live.is_cuda()) {
        buffer = buffer.pin_memory();
      }
      buffers.put(name, buffer);
    }
    try (var noGrad = new NoGradGuard()) {
      buffer.copy_(live.detach());
    }
    return buffer;
  }

  /** The bytes held. */
  public long bytes() {
    long n = 0;
    for (var t : buffers.values()) {
      n += t.nbytes();
    }
    return n;
  }

  private static boolean fits(Tensor buffer, Tensor live) {
    return buffer.scalar_type().intern() == live.scalar_type().intern()
        && java.util.Arrays.equals(buffer.sizes().vec().get(), live.sizes().vec().get());
  }
}
