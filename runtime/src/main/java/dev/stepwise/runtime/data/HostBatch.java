package dev.stepwise.runtime.data;

import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.global.torch;

/**
 * A {@link Batch} still in Java arrays: token ids {@code [rows, length]} and the loss mask {@code
 * [rows, length - 1]}, row-major, with the batch's counts.
 */
public record HostBatch(
    long[] tokens, float[] lossMask, int rows, int length, long tokenCount, long lossTokens) {

  /** The batch as tensors on {@code device}. */
  public Batch toDevice(Device device) {
    var tokenTensor = torch.tensor(tokens).reshape(rows, length).to(device, torch.ScalarType.Long);
    var maskTensor =
        torch.tensor(lossMask).reshape(rows, length - 1).to(device, torch.ScalarType.Float);
    return new Batch(tokenTensor, maskTensor, rows, tokenCount, lossTokens);
  }
}
