package dev.stepwise.runtime.parallel;

import java.util.ArrayList;
import java.util.Map;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * Data-parallel gradient reduction (DDP style; every rank keeps the full model and optimizer). Each
 * rank's loss is a mean over its own loss tokens, so its gradients are weighted by its token count
 * before the sum and divided by the global count after it: the result is the gradient of the mean
 * over the whole global batch, as one rank with that batch computes it. One flat all-reduce carries
 * all gradients plus the loss sum and the token counts: on the GPU with NCCL, through host memory
 * with Gloo.
 */
public final class GradientSync {

  /** The step's figures over all ranks. */
  public record Reduced(double loss, long lossTokens, long tokens) {}

  private static final int EXTRAS = 3;

  private GradientSync() {}

  /**
   * Replaces every parameter's gradient with the global-batch gradient and returns the global loss.
   * On a single process nothing is touched.
   */
  public static Reduced allReduce(
      ProcessGroup group,
      Map<String, Tensor> parameters,
      double localLoss,
      long lossTokens,
      long tokens,
      long step) {
    if (!group.distributed()) {
      return new Reduced(localLoss, lossTokens, tokens);
    }
    try (var noGrad = new NoGradGuard()) {
      var parts = new TensorVector();
      var grads = new ArrayList<Tensor>();
      Device device = null;
      for (var p : parameters.values()) {
        var g = p.grad();
        if (!g.defined()) {
          // Every rank must contribute the same layout: a parameter unused here gets zeros.
          g = torch.zeros_like(p);
          p.mutable_grad().put(g);
        }
        device = g.device();
        grads.add(g);
        parts.push_back(g.reshape(-1));
      }
      var weight = (double) lossTokens;
      var extras =
          torch
              .tensor((float) (localLoss * weight), (float) lossTokens, (float) tokens)
              .to(device, torch.ScalarType.Float);
      parts.push_back(extras);
      var flat = torch.cat(parts);
      flat.narrow(0, 0, flat.numel() - EXTRAS).mul_(new Scalar(weight));
      // Gloo sums CPU tensors (a CUDA gradient goes through the host); NCCL sums on the GPU.
      var wire = flat.is_cuda() && !group.reducesOnDevice() ? flat.cpu() : flat;
      group.allReduceSum(wire, "gradients at step " + step);
      if (wire != flat) {
        flat.copy_(wire);
      }
      var tail = wire.narrow(0, wire.numel() - EXTRAS, EXTRAS).cpu().contiguous();
      var globalLoss = tail.get(0).item_float();
      var globalLossTokens = Math.round(tail.get(1).item_float());
      var globalTokens = Math.round(tail.get(2).item_float());
      if (globalLossTokens <= 0) {
        throw new IllegalStateException("step " + step + ": no loss tokens on any rank");
      }
      var divisor = new Scalar((double) globalLossTokens);
      long offset = 0;
      for (var g : grads) {
        var n = g.numel();
        g.copy_(flat.narrow(0, offset, n).view_as(g));
        g.div_(divisor);
        offset += n;
      }
      return new Reduced(globalLoss / globalLossTokens, globalLossTokens, globalTokens);
    }
  }
}
