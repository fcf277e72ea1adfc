package dev.stepwise.runtime.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.runtime.config.OptimConfig;
import java.util.SortedMap;
import java.util.TreeMap;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

/**
 * The fused multi-tensor AdamW path (what CUDA runs) against the per-tensor ops (what the CPU
 * runs), on the CPU where libtorch has both: same updates to a tolerance, same gradient norm and
 * clipping, and state that round-trips between the two through {@link AdamW#state()}.
 */
class AdamWTest {

  private static final OptimConfig CONFIG = new OptimConfig(1e-2, 0.1, 0.9, 0.99, 1e-8, 0.5);

  /** Parameters of a few shapes (matrices decay, vectors do not), drawn from {@code seed}. */
  private static SortedMap<String, Tensor> params(long seed) {
    var gen = torch.make_generator_cpu(seed);
    var out = new TreeMap<String, Tensor>();
    out.put("a.weight", randn(gen, 16, 8));
    out.put("b.weight", randn(gen, 3, 5, 7));
    out.put("norm.weight", randn(gen, 8));
    out.put("c.bias", randn(gen, 5));
    return out;
  }

  private static Tensor randn(Generator gen, long... shape) {
    return torch.randn(shape, new org.bytedeco.pytorch.GeneratorOptional(gen));
  }

  /** Sets every parameter's gradient to a draw of step {@code step}; no gradient for "c.bias". */
  private static void grads(SortedMap<String, Tensor> params, long step) {
    var gen = torch.make_generator_cpu(1000 + step);
    for (var e : params.entrySet()) {
      if (e.getKey().equals("c.bias") && step % 2 == 0) {
        e.getValue().mutable_grad().reset();
        continue;
      }
      e.getValue().mutable_grad().put(randn(gen, e.getValue().sizes().vec().get()));
    }
  }

  private static SortedMap<String, Tensor> copy(SortedMap<String, Tensor> params) {
    var out = new TreeMap<String, Tensor>();
    params.forEach((k, v) -> out.put(k, v.clone()));
    return out;
  }

  private static double run(AdamW optim, SortedMap<String, Tensor> params, int from, int to) {
    var norm = 0.0;
    try (var noGrad = new NoGradGuard()) {
      for (var step = from; step < to; step++) {
        // One PointerScope a step, as the trainers run it: what the optimizer keeps across steps
        // (the fused path's lists) must outlive it, and the norm is read after it has closed.
        DeviceScalar deferred;
        try (var scope = new PointerScope()) {
          grads(params, step);
          deferred = optim.clipGradNormDeferred(CONFIG.maxNorm());
          optim.step(CONFIG.lr() * (1 + step % 3));
          optim.zeroGrad();
        }
        try (deferred) {
          norm = deferred.getAsDouble();
        }
      }
    }
    return norm;
  }

  private static void assertClose(
      SortedMap<String, Tensor> expected, SortedMap<String, Tensor> actual, double tol) {
    assertEquals(expected.keySet(), actual.keySet());
    for (var k : expected.keySet()) {
      var diff = expected.get(k).sub(actual.get(k)).abs().max().item_double();
      var scale = expected.get(k).abs().max().item_double();
      assertTrue(diff <= tol * Math.max(scale, 1e-3), k + ": max |diff| " + diff);
    }
  }

  @Test
  void fusedMatchesPerTensorOps() {
    var reference = params(1);
    var fused = copy(reference);
    var perTensor = new AdamW(reference, CONFIG, false);
    var multi = new AdamW(fused, CONFIG, true);
    assertFalse(perTensor.fused());
    assertTrue(multi.fused());
    var normA = run(perTensor, reference, 0, 7);
    var normB = run(multi, fused, 0, 7);
    assertEquals(normA, normB, 1e-5 * normA);
    assertClose(reference, fused, 1e-5);
    assertClose(perTensor.state(), multi.state(), 1e-5);
    assertEquals(perTensor.steps(), multi.steps());
  }

  @Test
  void clippingScalesToMaxNorm() {
    var params = params(2);
    var optim = new AdamW(params, CONFIG, true);
    grads(params, 1);
    var norm = optim.clipGradNorm(CONFIG.maxNorm());
    assertTrue(norm > CONFIG.maxNorm(), "the draw's norm " + norm);
    var clipped = optim.clipGradNorm(0);
    assertEquals(CONFIG.maxNorm(), clipped, 1e-5);
  }

  @Test
  void stateRoundTripsBetweenPaths() {
    // One fused run of 6 steps, against 3 fused steps whose state is loaded into a fresh fused
    // optimizer (bit-exact) and into a per-tensor one (to the tolerance) for the other 3.
    var straight = params(3);
    run(new AdamW(straight, CONFIG, true), straight, 0, 6);

    var first = params(3);
    var firstOptim = new AdamW(first, CONFIG, true);
    run(firstOptim, first, 0, 3);
    var saved = new TreeMap<String, Tensor>();
    firstOptim.state().forEach((k, v) -> saved.put(k, v.clone()));

    var resumed = copy(first);
    var resumedOptim = new AdamW(resumed, CONFIG, true);
    resumedOptim.load(saved, firstOptim.steps());
    run(resumedOptim, resumed, 3, 6);
    for (var k : straight.keySet()) {
      assertTrue(torch.equal(straight.get(k), resumed.get(k)), k + " differs after resume");
    }

    var onCpuOps = copy(first);
    var cpuOptim = new AdamW(onCpuOps, CONFIG, false);
    cpuOptim.load(saved, firstOptim.steps());
    run(cpuOptim, onCpuOps, 3, 6);
    assertClose(straight, onCpuOps, 1e-5);
  }
}
