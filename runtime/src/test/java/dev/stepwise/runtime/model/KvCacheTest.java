package dev.stepwise.runtime.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

/**
 * The KV cache's tensors outlive the PointerScope of the step that made them, each step frees the
 * ones it supersedes (on a GPU a 128-token batch-32 request kept every step's copy and ran out of
 * memory), and {@link HfDecoder.KvCache#close()} frees the rest.
 */
class KvCacheTest {

  @Test
  void stepsFreeSupersededTensorsAndCloseFreesTheRest() {
    var model = HfWeights.load(HfParityTest.FIXTURES.resolve("qwen3"), new Device("cpu"), 1, true);
    try (var noGrad = new NoGradGuard()) {
      var cache = new HfDecoder.KvCache(model.config().numLayers());
      try (var scope = new PointerScope()) {
        model.forward(torch.tensor(new long[] {1, 2, 3}).reshape(1, 3), cache);
      }
      var first = cache.keys(0);
      assertFalse(first.isNull(), "the prefill's keys outlive its scope");
      assertEquals(3, first.size(2));
      try (var scope = new PointerScope()) {
        model.forward(torch.tensor(new long[] {4}).reshape(1, 1), cache);
      }
      var second = cache.keys(0);
      assertEquals(4, second.size(2));
      assertTrue(first.isNull(), "the superseded keys are freed when their step ends");
      cache.close();
      assertTrue(second.isNull(), "close frees the cache");
    }
  }
}
