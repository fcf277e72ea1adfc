package dev.stepwise.runtime.trainer;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Collectors;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.global.torch_cuda;

/**
 * Where a training step's time goes, phase by phase (batch, forward, backward, optimizer, ...), as
 * the mean over the steps after the first two. By default it reads the host's clock only: on a GPU
 * that is the time to queue each phase, and the phase that reads a value from the device (the loss)
 * shows how long the host waited for the GPU. With {@value #SYNCHRONISE}{@code =true} it waits for
 * the device at every phase boundary, so each phase's figure is its device time too (the step gets
 * slower: the GPU idles while the host queues the next phase).
 */
final class StepPhases {

  /** System property: wait for the device at every phase boundary. */
  static final String SYNCHRONISE = "stepwise.profile.phases";

  private static final int WARM_UP_STEPS = 2;

  private final boolean synchronise;
  private final Map<String, Long> nanos = new LinkedHashMap<>();
  private long steps;
  private long seen;
  private boolean counting;
  private long last;

  private StepPhases(boolean synchronise) {
    this.synchronise = synchronise;
    this.last = System.nanoTime();
  }

  /** Phases of steps on {@code device}; synchronised with it when the system property says so. */
  static StepPhases on(Device device) {
    return new StepPhases(device.is_cuda() && Boolean.getBoolean(SYNCHRONISE));
  }

  /** A step begins: what ran since the last mark was between steps (metrics, checkpoints). */
  void beginStep() {
    seen++;
    counting = seen > WARM_UP_STEPS;
    mark("between steps");
    if (counting) {
      steps++;
    }
  }

  /** The phase {@code name} of the current step ends now. */
  void mark(String name) {
    if (synchronise) {
      torch_cuda.device_synchronize();
    }
    var now = System.nanoTime();
    if (counting) {
      nanos.merge(name, now - last, Long::sum);
    }
    last = now;
  }

  /** {@code step phases (...): batch 1.2 ms | forward 80.1 ms | ...}, or empty before any step. */
  String summary() {
    if (steps == 0) {
      return "";
    }
    return String.format(
        "step phases (%s, mean of %d steps): %s",
        synchronise ? "device-synchronised" : "host time",
        steps,
        nanos.entrySet().stream()
            .map(e -> String.format("%s %.1f ms", e.getKey(), e.getValue() / 1e6 / steps))
            .collect(Collectors.joining(" | ")));
  }
}
