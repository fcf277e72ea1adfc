package dev.stepwise.runtime.trainer;

import dev.stepwise.runtime.checkpoint.CheckpointAbortedException;
import dev.stepwise.runtime.parallel.ProcessGroup;
import dev.stepwise.runtime.util.StopSignal;
import java.nio.file.Path;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.global.torch;

/**
 * Whether the ranks of a trainer stop after a step: a stop signal may reach one rank only (one pod
 * of the trainer StatefulSet deleted), so with several ranks they agree through one tiny all-reduce
 * per step, and all save the same step together.
 */
public final class StopAgreement {

  private final StopSignal stop;
  private final ProcessGroup group;
  private final Device device;

  public StopAgreement(StopSignal stop, ProcessGroup group, Device device) {
    this.stop = stop;
    this.group = group;
    this.device = device;
  }

  /** Whether every rank stops after {@code step} (call once per step on every rank). */
  public boolean stopAfter(long step) {
    if (stop == StopSignal.none()) {
      return false;
    }
    if (!group.distributed()) {
      return stop.requested();
    }
    try (var scope = new PointerScope()) {
      var flag = torch.tensor(stop.requested() ? 1f : 0f);
      if (group.reducesOnDevice()) {
        flag = flag.to(device, torch.ScalarType.Float);
      }
      group.allReduceSum(flag, "stop agreement at step " + step);
      return flag.cpu().item_float() > 0;
    }
  }

  /** Throws when the stop was aborted (second signal, deadline): no checkpoint is to be written. */
  public void checkNotAborted(long step) {
    if (stop.aborted()) {
      throw new CheckpointAbortedException(
          "stop aborted at step " + step + ": no checkpoint of it was written");
    }
  }

  public StopSignal signal() {
    return stop;
  }

  /**
   * {@code stopped by SIGTERM after step 7: checkpoint <dir> is complete}: what a trainer logs once
   * the checkpoint of the step it stopped after is written, by {@code stop}'s signal or a peer's.
   */
  public static String stoppedMessage(StopSignal stop, long step, Path checkpoint) {
    return String.format(
        "stopped by %s after step %d: checkpoint %s is complete",
        stop.signalName() == null ? "a peer's stop signal" : stop.signalName(), step, checkpoint);
  }
}
