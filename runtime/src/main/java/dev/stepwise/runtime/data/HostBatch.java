package dev.stepwise.runtime.data;

import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * A {@link Batch} still in Java arrays: token ids {@code [rows, length]} and the loss mask {@code
 * [rows, length - 1]}, row-major, with the batch's counts.
 */
public record HostBatch(
    long[] tokens, float[] lossMask, int rows, int length, long tokenCount, long lossTokens) {

  /**
   * The batch as tensors on {@code device}. To a GPU the copy goes through pinned host memory and
   * is queued without waiting: it runs after the work already queued on the stream (a copy from
   * ordinary host memory would wait for all of it), and the pinned block is not reused before the
   * copy has run (PyTorch's host allocator records the stream).
   */
  public Batch toDevice(Device device) {
    var tokenTensor = onDevice(torch.tensor(tokens).reshape(rows, length), device);
    var maskTensor = onDevice(torch.tensor(lossMask).reshape(rows, length - 1), device);
    return new Batch(tokenTensor, maskTensor, rows, tokenCount, lossTokens);
  }

  private static Tensor onDevice(Tensor host, Device device) {
    if (!device.is_cuda()) {
      return host.to(device, host.scalar_type());
    }
    return host.pin_memory()
        .to(device, host.scalar_type(), true, false, new MemoryFormatOptional());
  }
}
