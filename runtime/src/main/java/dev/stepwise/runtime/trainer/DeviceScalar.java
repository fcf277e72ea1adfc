package dev.stepwise.runtime.trainer;

import java.util.function.DoubleSupplier;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.cuda.CUDAEvent;

/**
 * A number a step computed, left where it was computed until it is read: on a GPU reading it waits
 * for the work queued before it, so a trainer reads it as late as it can. On a GPU the value is
 * copied, in the stream's order and without waiting, to pinned host memory, and an event is
 * recorded behind the copy: reading waits for that event only, not for everything queued since (a
 * plain {@code item()} synchronises the whole stream, so a value read after the next step is queued
 * would wait for that step too). It holds references of its own, so it outlives the {@link
 * org.bytedeco.javacpp.PointerScope} of the step that made it; {@link #close()} drops them.
 */
final class DeviceScalar implements DoubleSupplier, AutoCloseable {

  private final Tensor tensor;
  private final CopyDone copied;
  private final double known;

  private DeviceScalar(Tensor tensor, CopyDone copied, double known) {
    this.tensor = tensor;
    this.copied = copied;
    this.known = known;
  }

  /** The value of the one-element {@code tensor}, read when asked. */
  static DeviceScalar of(Tensor tensor) {
    if (!tensor.is_cuda()) {
      tensor.retainReference();
      return new DeviceScalar(tensor, null, Double.NaN);
    }
    // A non-blocking copy from the device to the host lands in pinned memory.
    var host =
        tensor.to(new Device("cpu"), tensor.scalar_type(), true, false, new MemoryFormatOptional());
    host.retainReference();
    return new DeviceScalar(host, CopyDone.recordNow(), Double.NaN);
  }

  /** A value already on the host. */
  static DeviceScalar known(double value) {
    return new DeviceScalar(null, null, value);
  }

  /** The value (waits for the device when it is not there yet). */
  @Override
  public double getAsDouble() {
    if (tensor == null) {
      return known;
    }
    if (copied != null) {
      copied.await();
    }
    return tensor.item_double();
  }

  @Override
  public void close() {
    if (tensor != null) {
      tensor.releaseReference();
    }
    if (copied != null) {
      copied.close();
    }
  }

  /**
   * A CUDA event recorded on the current stream (a class of its own: the CUDA classes load only
   * where a value was on a GPU).
   */
  private static final class CopyDone {
    private final CUDAEvent event;

    private CopyDone(CUDAEvent event) {
      this.event = event;
    }

    static CopyDone recordNow() {
      var event = new CUDAEvent();
      event.retainReference();
      event.record();
      return new CopyDone(event);
    }

    void await() {
      event.synchronize();
    }

    void close() {
      event.releaseReference();
    }
  }
}
