package dev.stepwise.runtime.trainer;

import dev.stepwise.runtime.config.OptimConfig;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * AdamW (decoupled weight decay, bias-corrected moments) over named parameters, written from tensor
 * ops so that its state is plain named tensors: {@code <param>.exp_avg} and {@code
 * <param>.exp_avg_sq}, plus the step count. That state round-trips bit-exactly through safetensors
 * and shards by parameter name. Weight decay skips 1-d parameters (norm weights).
 *
 * <p>On CUDA the update runs libtorch's fused multi-tensor AdamW kernel ({@link FusedOps}) over all
 * parameters at once, and the gradient norm and clipping run as multi-tensor ops too; the state is
 * the same tensors, so checkpoints are the same. On the CPU the update is the per-tensor ops below,
 * whose results the bit-exact resume tests pin ({@code -Dstepwise.adamw.fused=false} turns the
 * fused path off on CUDA as well).
 */
public final class AdamW {

  /** System property that turns the fused path off on CUDA ({@code false}). */
  static final String FUSED = "stepwise.adamw.fused";

  private final SortedMap<String, Tensor> params;
  private final OptimConfig config;
  private final SortedMap<String, Tensor> expAvg = new TreeMap<>();
  private final SortedMap<String, Tensor> expAvgSq = new TreeMap<>();
  private final FusedOps fused;
  private final Map<String, Tensor> stepCounts = new TreeMap<>();
  private FusedGroups fusedGroups;
  private long steps;

  public AdamW(SortedMap<String, Tensor> params, OptimConfig config) {
    this(params, config, onCuda(params) && Boolean.parseBoolean(System.getProperty(FUSED, "true")));
  }

  /**
   * As above, with the fused path ({@link FusedOps}) chosen by the caller (tests use it on CPU).
   */
  AdamW(SortedMap<String, Tensor> params, OptimConfig config, boolean fused) {
    this.params = params;
    this.config = config;
    this.fused = fused ? FusedOps.get() : null;
    if (fused) {
      for (var p : params.values()) {
        stepCounts.computeIfAbsent(
            p.device().str().getString(),
            d -> {
              var count =
                  torch.scalar_tensor(new Scalar(0.0)).to(p.device(), torch.ScalarType.Float);
              count.retainReference(); // outlives the PointerScope of the step that uses it
              return count;
            });
      }
    }
    for (var e : params.entrySet()) {
      expAvg.put(e.getKey(), torch.zeros_like(e.getValue()));
      expAvgSq.put(e.getKey(), torch.zeros_like(e.getValue()));
    }
  }

  private static boolean onCuda(SortedMap<String, Tensor> params) {
    return !params.isEmpty() && params.values().iterator().next().is_cuda();
  }

  public long steps() {
    return steps;
  }

  /** Whether updates run the fused multi-tensor kernel. */
  public boolean fused() {
    return fused != null;
  }

  /** Scales all gradients so their global L2 norm is at most {@code maxNorm}; returns the norm. */
  public double clipGradNorm(double maxNorm) {
    if (fused != null) {
      return clipGradNormDeferred(maxNorm).getAsDouble();
    }
    var sumSquares = 0.0;
    for (var p : params.values()) {
      var g = p.grad();
      if (g.defined()) {
        var n = (double) g.norm().item_float();
        sumSquares += n * n;
      }
    }
    var norm = Math.sqrt(sumSquares);
    if (maxNorm > 0 && norm > maxNorm) {
      var scale = new Scalar(maxNorm / (norm + 1e-6));
      for (var p : params.values()) {
        var g = p.grad();
        if (g.defined()) {
          g.mul_(scale);
        }
      }
    }
    return norm;
  }

  /**
   * {@link #clipGradNorm} that leaves the norm where the gradients are. On a GPU the norm and the
   * clip factor are computed on the device (each parameter's norm in fp32, their squares summed in
   * fp64, as the host path does; the factor is {@code min(1, maxNorm / (norm + 1e-6))}, as
   * PyTorch's {@code clip_grad_norm_} computes it), so the step does not wait for the GPU here; the
   * value returned reads the norm (a synchronisation) only when asked, also after the step's {@link
   * org.bytedeco.javacpp.PointerScope} has closed; close it once read. On the CPU this is {@link
   * #clipGradNorm} itself.
   */
  DeviceScalar clipGradNormDeferred(double maxNorm) {
    if (fused != null) {
      // The gradients as the parameters hold them (no intermediate vector whose elements the
      // list would point into, and which the garbage collector may free first).
      var list = new ArrayList<Tensor>(params.size());
      forEachGradient((name, p, g) -> list.add(g));
      if (!list.isEmpty()) {
        try (var noGrad = new NoGradGuard()) {
          return DeviceScalar.of(fused.clip(fused.list(list), maxNorm));
        }
      }
    }
    var grads = new TensorVector();
    for (var p : params.values()) {
      var g = p.grad();
      if (g.defined()) {
        grads.push_back(g);
      }
    }
    if (grads.empty() || !grads.get(0).is_cuda()) {
      return DeviceScalar.known(clipGradNorm(maxNorm));
    }
    try (var noGrad = new NoGradGuard()) {
      var norms = new TensorVector();
      for (var i = 0; i < grads.size(); i++) {
        norms.push_back(grads.get(i).norm());
      }
      var total = torch.stack(norms).to(torch.ScalarType.Double).square().sum().sqrt();
      if (maxNorm > 0) {
        var factor =
            total
                .add(new Scalar(1e-6))
                .reciprocal()
                .mul(new Scalar(maxNorm))
                .clamp_max(new Scalar(1.0))
                .to(torch.ScalarType.Float);
        for (var i = 0; i < grads.size(); i++) {
          grads.get(i).mul_(factor);
        }
      }
      return DeviceScalar.of(total);
    }
  }

  /** One update with learning rate {@code lr}; parameters without a gradient are skipped. */
  public void step(double lr) {
    steps++;
    if (fused != null) {
      fusedStep(lr);
      return;
    }
    var b1 = config.beta1();
    var b2 = config.beta2();
    var bias1 = 1 - Math.pow(b1, steps);
    var bias2 = 1 - Math.pow(b2, steps);
    try (var noGrad = new NoGradGuard()) {
      forEachGradient(
          (name, p, g) -> {
            var m = expAvg.get(name);
            var v = expAvgSq.get(name);
            if (config.weightDecay() > 0 && p.dim() > 1) {
              p.mul_(new Scalar(1 - lr * config.weightDecay()));
            }
            m.mul_(new Scalar(b1));
            m.add_(g, new Scalar(1 - b1));
            v.mul_(new Scalar(b2));
            v.addcmul_(g, g, new Scalar(1 - b2));
            var denom = v.sqrt();
            denom.div_(new Scalar(Math.sqrt(bias2)));
            denom.add_(new Scalar(config.eps()));
            p.addcdiv_(m, denom, new Scalar(-lr / bias1));
          });
    }
  }

  /**
   * The fused update: parameters grouped by dtype, device and whether they decay, one kernel call
   * per group. Each group's step-count list repeats one fp32 device scalar set to {@link #steps}.
   * The groups' lists of parameters, moments and step counts are built once and reused while the
   * same parameters have gradients (building a TorchScript list costs a native call per tensor);
   * only the gradients, new tensors every step, are listed anew.
   */
  private void fusedStep(double lr) {
    try (var noGrad = new NoGradGuard()) {
      var withGrad = new ArrayList<String>();
      var grads = new HashMap<String, Tensor>();
      forEachGradient(
          (name, p, g) -> {
            withGrad.add(name);
            grads.put(name, g);
          });
      if (fusedGroups == null || !fusedGroups.names().equals(withGrad)) {
        if (fusedGroups != null) {
          fusedGroups.release();
        }
        fusedGroups = FusedGroups.of(withGrad, this);
      }
      for (var count : stepCounts.values()) {
        count.fill_(new Scalar((double) steps));
      }
      for (var group : fusedGroups.groups()) {
        fused.adamw(
            group.params(),
            fused.list(group.names().stream().map(grads::get).toList()),
            group.expAvgs(),
            group.expAvgSqs(),
            group.steps(),
            lr,
            config.beta1(),
            config.beta2(),
            group.decays() ? config.weightDecay() : 0.0,
            config.eps());
      }
    }
  }

  /** {@code <dtype>/<device>/<decays>}: which fused call updates {@code p}. */
  private String groupKey(Tensor p) {
    return p.scalar_type() + "/" + p.device().str().getString() + "/" + decays(p);
  }

  private boolean decays(Tensor p) {
    return config.weightDecay() > 0 && p.dim() > 1;
  }

  /**
   * One fused call: its parameters by name, and their constant lists (TorchScript {@code
   * List[Tensor]}), kept across steps.
   */
  private record FusedGroup(
      List<String> names,
      boolean decays,
      IValue params,
      IValue expAvgs,
      IValue expAvgSqs,
      IValue steps) {}

  /** The fused groups for the parameters {@code names} (those with gradients), by group key. */
  private record FusedGroups(List<String> names, List<FusedGroup> groups) {

    static FusedGroups of(List<String> names, AdamW optimizer) {
      var members = new TreeMap<String, List<String>>();
      for (var name : names) {
        members
            .computeIfAbsent(optimizer.groupKey(optimizer.params.get(name)), k -> new ArrayList<>())
            .add(name);
      }
      var groups = new ArrayList<FusedGroup>();
      members.forEach(
          (key, group) -> {
            var first = optimizer.params.get(group.get(0));
            var count = optimizer.stepCounts.get(first.device().str().getString());
            groups.add(
                new FusedGroup(
                    List.copyOf(group),
                    optimizer.decays(first),
                    kept(optimizer.fused.list(group.stream().map(optimizer.params::get).toList())),
                    kept(optimizer.fused.list(group.stream().map(optimizer.expAvg::get).toList())),
                    kept(
                        optimizer.fused.list(group.stream().map(optimizer.expAvgSq::get).toList())),
                    kept(optimizer.fused.list(group.stream().map(n -> count).toList()))));
          });
      return new FusedGroups(List.copyOf(names), groups);
    }

    /** Drops the lists (when other parameters have gradients than those they were built for). */
    void release() {
      for (var group : groups) {
        for (var list :
            List.of(group.params(), group.expAvgs(), group.expAvgSqs(), group.steps())) {
          list.releaseReference();
        }
      }
    }

    /** Held past the PointerScope of the step that built it, until {@link #release()}. */
    private static IValue kept(IValue list) {
      list.retainReference();
      return list;
    }
  }

  /** A parameter that has a gradient: its name, the parameter and the gradient. */
  private interface GradientVisitor {
    void visit(String name, Tensor param, Tensor grad);
  }

  /** Visits each parameter that has a gradient (parameters without one are skipped), by name. */
  private void forEachGradient(GradientVisitor visitor) {
    for (var e : params.entrySet()) {
      var g = e.getValue().grad();
      if (g.defined()) {
        visitor.visit(e.getKey(), e.getValue(), g);
      }
    }
  }

  /** Drops all gradients (undefined, not zero, so a resumed process starts identically). */
  public void zeroGrad() {
    for (var p : params.values()) {
      p.mutable_grad().reset();
    }
  }

  /** The optimizer state by name ({@code <param>.exp_avg}, {@code <param>.exp_avg_sq}). */
  public SortedMap<String, Tensor> state() {
    var state = new TreeMap<String, Tensor>();
    expAvg.forEach((k, v) -> state.put(k + ".exp_avg", v));
    expAvgSq.forEach((k, v) -> state.put(k + ".exp_avg_sq", v));
    return state;
  }

  /**
   * The parameter an optimizer state tensor belongs to: {@code a.b.weight.exp_avg} -> {@code
   * a.b.weight}.
   */
  public static String parameterOf(String stateName) {
    var dot = stateName.lastIndexOf('.');
    if (dot <= 0) {
      throw new IllegalArgumentException("not an optimizer state name: " + stateName);
    }
    return stateName.substring(0, dot);
  }

  /** Restores state written by {@link #state()}; shapes must match the parameters. */
  public void load(Map<String, Tensor> state, long steps) {
    for (var name : params.keySet()) {
      copyInto(expAvg.get(name), state.get(name + ".exp_avg"), name + ".exp_avg");
      copyInto(expAvgSq.get(name), state.get(name + ".exp_avg_sq"), name + ".exp_avg_sq");
    }
    this.steps = steps;
  }

  static void copyInto(Tensor target, Tensor source, String name) {
    if (source == null) {
      throw new IllegalArgumentException("missing tensor " + name);
    }
    if (!java.util.Arrays.equals(target.sizes().vec().get(), source.sizes().vec().get())) {
      throw new IllegalArgumentException(
          "tensor "
              + name
              + " has shape "
              + java.util.Arrays.toString(source.sizes().vec().get())
              + ", the model expects "
              + java.util.Arrays.toString(target.sizes().vec().get()));
    }
    if (target.is_same(source)) {
      return; // the checkpoint was read straight into this tensor
    }
    try (var noGrad = new NoGradGuard()) {
      target.copy_(source);
    }
  }
}
