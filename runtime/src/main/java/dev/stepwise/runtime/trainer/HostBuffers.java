package dev.stepwise.runtime.trainer;

import dev.stepwise.runtime.checkpoint.ParallelIo;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
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

  /**
   * Host copies of {@code live} (name to tensor) in the buffers kept for those names, copied by up
   * to {@code threads} threads at once (the training thread waits for the snapshot anyway, and one
   * core alone does not saturate memory bandwidth).
   */
  public Map<String, Tensor> copyAll(Map<String, Tensor> live, int threads) {
    var targets = new LinkedHashMap<String, Tensor>();
    live.forEach((name, t) -> targets.put(name, buffer(name, t)));
    if (live.values().stream().anyMatch(Tensor::is_cuda)) {
      copyFromDevice(live, targets);
      return targets;
    }
    var names = new ArrayList<>(live.keySet());
    // Largest first, dealt round-robin: the threads get about equal bytes.
    names.sort(Comparator.comparingLong((String n) -> -live.get(n).nbytes()));
    var lanes = Math.max(1, Math.min(threads, names.size()));
    var tasks = new ArrayList<Callable<Boolean>>();
    for (var lane = 0; lane < lanes; lane++) {
      var mine = new ArrayList<String>();
      for (var i = lane; i < names.size(); i += lanes) {
        mine.add(names.get(i));
      }
      tasks.add(
          () -> {
            try (var noGrad = new NoGradGuard()) {
              for (var name : mine) {
                targets.get(name).copy_(live.get(name).detach());
              }
            }
            return true;
          });
    }
    try {
      ParallelIo.run(tasks, lanes, "snapshot-copy");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return targets;
  }

  /**
   * Device tensors: every copy is queued on this thread's stream without waiting, and only the last
   * device tensor's copy blocks. Copies on one stream run in order, so when it returns all of them
   * are in host memory: the snapshot costs the device-to-host transfer, not one round trip (and one
   * thread hand-off) per tensor.
   */
  private static void copyFromDevice(Map<String, Tensor> live, Map<String, Tensor> targets) {
    String last = null;
    for (var e : live.entrySet()) {
      if (e.getValue().is_cuda()) {
        last = e.getKey();
      }
    }
    try (var noGrad = new NoGradGuard()) {
      for (var e : live.entrySet()) {
        if (!e.getKey().equals(last)) {
          targets.get(e.getKey()).copy_(e.getValue().detach(), true);
        }
      }
      targets.get(last).copy_(live.get(last).detach(), false);
    }
  }

  private Tensor buffer(String name, Tensor live) {
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
