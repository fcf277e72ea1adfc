package dev.stepwise.runtime.trainer;

import java.util.function.DoubleSupplier;
import org.bytedeco.pytorch.Tensor;

/**
 * A number a step computed, left where it was computed until it is read: on a GPU reading it waits
 * for all the work queued before it, so a trainer reads it as late as it can. It holds a reference
 * to its one-element tensor, so it outlives the {@link org.bytedeco.javacpp.PointerScope} of the
 * step that made it; {@link #close()} drops it.
 */
final class DeviceScalar implements DoubleSupplier, AutoCloseable {

  private final Tensor tensor;
  private final double known;

  private DeviceScalar(Tensor tensor, double known) {
    this.tensor = tensor;
    this.known = known;
  }

  /** The value of the one-element {@code tensor}, read when asked. */
  static DeviceScalar of(Tensor tensor) {
    tensor.retainReference();
    return new DeviceScalar(tensor, Double.NaN);
  }

  /** A value already on the host. */
  static DeviceScalar known(double value) {
    return new DeviceScalar(null, value);
  }

  /** The value (waits for the device when it is still there). */
  @Override
  public double getAsDouble() {
    return tensor == null ? known : tensor.item_double();
  }

  @Override
  public void close() {
    if (tensor != null) {
      tensor.releaseReference();
    }
  }
}
