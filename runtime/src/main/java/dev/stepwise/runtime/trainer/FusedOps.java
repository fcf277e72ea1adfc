package dev.stepwise.runtime.trainer;

import java.lang.ref.Reference;
import java.util.List;
import org.bytedeco.pytorch.CompilationUnit;
import org.bytedeco.pytorch.Function;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.IValueVector;
import org.bytedeco.pytorch.QualifiedName;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * libtorch's multi-tensor optimizer kernels ({@code _fused_adamw_}, {@code _foreach_norm}, {@code
 * _foreach_mul_}), which the Bytedeco presets do not expose as Java methods, reached through a tiny
 * TorchScript unit compiled once: one call runs AdamW over a whole list of parameters in a handful
 * of kernel launches, as PyTorch's {@code AdamW(fused=True)} does.
 */
final class FusedOps {

  private static final String SOURCE =
      """
      def empty() -> List[Tensor]:
          out: List[Tensor] = []
          return out

      def adamw(params: List[Tensor], grads: List[Tensor], exp_avgs: List[Tensor],
                exp_avg_sqs: List[Tensor], steps: List[Tensor], lr: float, beta1: float,
                beta2: float, weight_decay: float, eps: float):
          none: List[Tensor] = []
          torch._fused_adamw_(params, grads, exp_avgs, exp_avg_sqs, none, steps, lr=lr, beta1=beta1,
                              beta2=beta2, weight_decay=weight_decay, eps=eps, amsgrad=False,
                              maximize=False)

      def clip(grads: List[Tensor], max_norm: float) -> Tensor:
          norms = torch._foreach_norm(grads, 2.0)
          total = torch.stack(norms).double().square().sum().sqrt()
          if max_norm > 0.0:
              factor = total.add(1e-6).reciprocal().mul(max_norm).clamp_max(1.0)
              torch._foreach_mul_(grads, factor.float())
          return total
      """;

  private static FusedOps instance;

  @SuppressWarnings("unused") // owns the functions below
  private final CompilationUnit unit;

  private final Function empty;
  private final Function adamw;
  private final Function clip;

  private FusedOps() {
    unit = torch.compile(SOURCE);
    empty = unit.get_function(new QualifiedName("empty"));
    adamw = unit.get_function(new QualifiedName("adamw"));
    clip = unit.get_function(new QualifiedName("clip"));
    // A process-wide singleton: no PointerScope open at its creation may free it.
    for (var pointer : new org.bytedeco.javacpp.Pointer[] {unit, empty, adamw, clip}) {
      pointer.retainReference();
    }
  }

  static synchronized FusedOps get() {
    if (instance == null) {
      instance = new FusedOps();
    }
    return instance;
  }

  /** A TorchScript {@code List[Tensor]} holding {@code tensors}. */
  IValue list(List<Tensor> tensors) {
    // The interpreter hands out one shared list object per call site: copy it.
    var list = empty.apply(new IValueVector()).toList().copy();
    list.clear();
    list.reserve(tensors.size());
    for (var t : tensors) {
      list.push_back(new IValue(t));
    }
    return new IValue(list);
  }

  /**
   * One AdamW update of every tensor in {@code params} (in place, with its moments); {@code steps}
   * holds each parameter's fp32 step count (already advanced to this step), read on the device.
   */
  void adamw(
      IValue params,
      IValue grads,
      IValue expAvgs,
      IValue expAvgSqs,
      IValue steps,
      double lr,
      double beta1,
      double beta2,
      double weightDecay,
      double eps) {
    adamw.apply(
        new IValueVector(
            params,
            grads,
            expAvgs,
            expAvgSqs,
            steps,
            new IValue(lr),
            new IValue(beta1),
            new IValue(beta2),
            new IValue(weightDecay),
            new IValue(eps)));
  }

  /**
   * The global L2 norm of {@code grads} (each tensor's norm in fp32, their squares summed in fp64)
   * as a 0-d fp64 device tensor; when {@code maxNorm > 0} scales them in place by {@code min(1,
   * maxNorm / (norm + 1e-6))}.
   */
  Tensor clip(IValue grads, double maxNorm) {
    // toTensor() points into the returned IValue, which the caller's PointerScope (or the garbage
    // collector) frees: the result gets a handle of its own, so it can be read after that.
    var result = clip.apply(new IValueVector(grads, new IValue(maxNorm)));
    try {
      return new Tensor(result.toTensor());
    } finally {
      Reference.reachabilityFence(result);
    }
  }
}
