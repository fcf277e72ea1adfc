package dev.stepwise.runtime.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.runtime.checkpoint.Safetensors;
import java.nio.file.Path;
import java.util.Map;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The Qwen3 and Llama decoders against Python {@code transformers}: logits, loss and gradients of
 * tiny random models that {@code src/test/python/hf_fixtures.py} created and committed.
 */
class HfParityTest {

  static final Path FIXTURES = Path.of("src/test/resources/hf");

  static Map<String, Tensor> expected(String kind) throws Exception {
    return Safetensors.read(FIXTURES.resolve(kind + ".expected.safetensors"), null).tensors();
  }

  static double maxDiff(Tensor a, Tensor b) {
    assertArrayEquals(b.sizes().vec().get(), a.sizes().vec().get(), "shape");
    return a.sub(b).abs().max().item_double();
  }

  @ParameterizedTest
  @ValueSource(strings = {"qwen3", "llama"})
  void logitsMatchTransformersWithin1e5(String kind) throws Exception {
    var model = HfWeights.load(FIXTURES.resolve(kind), new Device("cpu"), 0, false);
    var expected = expected(kind);
    try (var noGrad = new NoGradGuard()) {
      var logits = model.logits(expected.get("input_ids"));
      var diff = maxDiff(logits, expected.get("logits"));
      System.out.printf("%s: max |logits - transformers| = %.3e%n", kind, diff);
      assertTrue(diff < 1e-5, kind + ": max |logits diff| " + diff);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"qwen3", "llama"})
  void lossAndGradientsOfOneStepMatch(String kind) throws Exception {
    var model = HfWeights.load(FIXTURES.resolve(kind), new Device("cpu"), 0, false);
    var expected = expected(kind);
    var loss = model.tokenLogProbs(expected.get("input_ids")).mean().neg();
    var lossDiff = Math.abs(loss.item_double() - expected.get("loss").item_double());
    System.out.printf("%s: |loss - transformers| = %.3e%n", kind, lossDiff);
    assertTrue(lossDiff < 1e-5, kind + ": loss differs by " + lossDiff);
    loss.backward();
    var checked = 0;
    var worst = 0.0;
    for (var e : model.parameters().entrySet()) {
      var want = expected.get("grad." + e.getKey());
      assertTrue(want != null, "no expected gradient for " + e.getKey());
      var diff = maxDiff(e.getValue().grad(), want);
      var scale = want.abs().max().item_double();
      assertTrue(diff < 1e-6 + 1e-4 * scale, kind + ": " + e.getKey() + " grad differs by " + diff);
      worst = Math.max(worst, diff / (1e-6 + scale));
      checked++;
    }
    System.out.printf("%s: worst grad diff / max |grad| = %.3e%n", kind, worst);
    assertEquals(
        expected.keySet().stream().filter(k -> k.startsWith("grad.")).count(),
        checked,
        "every parameter of transformers' model has a gradient here");
  }

  /**
   * The CUDA compute path (bf16 matrix products and attention over fp32 master weights) run on the
   * CPU: logits, loss and gradients near transformers' fp32 values, gradients in fp32.
   */
  @ParameterizedTest
  @ValueSource(strings = {"qwen3", "llama"})
  void bf16ComputeStaysNearFp32WithFp32Gradients(String kind) throws Exception {
    var dir = FIXTURES.resolve(kind);
    var model = new HfDecoder(HfConfig.read(dir), new Device("cpu"), 0, torch.ScalarType.BFloat16);
    HfWeights.copyInto(model, HfWeights.read(dir), dir.toString());
    var expected = expected(kind);
    var ids = expected.get("input_ids");
    var logits = model.logits(ids).to(torch.ScalarType.Float);
    var want = expected.get("logits");
    var diff = maxDiff(logits, want);
    var scale = want.abs().max().item_double();
    System.out.printf("%s bf16: max |logits diff| %.3e (max |logit| %.3e)%n", kind, diff, scale);
    assertTrue(diff < 0.05 * scale, kind + ": bf16 logits differ by " + diff);
    var loss = model.tokenLogProbs(ids).mean().neg();
    var lossDiff = Math.abs(loss.item_double() - expected.get("loss").item_double());
    assertTrue(lossDiff < 1e-2, kind + ": bf16 loss differs by " + lossDiff);
    loss.backward();
    for (var e : model.parameters().entrySet()) {
      var grad = e.getValue().grad();
      assertTrue(grad.scalar_type().intern() == torch.ScalarType.Float, e.getKey() + " grad dtype");
      var wantGrad = expected.get("grad." + e.getKey());
      var gradDiff = maxDiff(grad, wantGrad);
      var gradScale = wantGrad.abs().max().item_double();
      assertTrue(
          gradDiff < 1e-4 + 0.1 * gradScale,
          kind + ": " + e.getKey() + " bf16 grad differs by " + gradDiff + " of " + gradScale);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"qwen3", "llama"})
  void kvCacheDecodingGivesTheFullForwardLogits(String kind) throws Exception {
    var model = HfWeights.load(FIXTURES.resolve(kind), new Device("cpu"), 0, false);
    var ids = expected(kind).get("input_ids");
    try (var noGrad = new NoGradGuard()) {
      var full = model.logits(ids);
      var cache = new HfDecoder.KvCache(model.config().numLayers());
      var prefill = model.forward(ids.narrow(1, 0, 5), cache);
      assertTrue(maxDiff(prefill, full.narrow(1, 0, 5)) < 1e-5, "prefill");
      for (var t = 5; t < ids.size(1); t++) {
        var step = model.forward(ids.narrow(1, t, 1), cache);
        var diff = maxDiff(step, full.narrow(1, t, 1));
        assertTrue(diff < 1e-5, "decode step at position " + t + " differs by " + diff);
      }
      assertEquals(ids.size(1), cache.length());
    }
  }
}
