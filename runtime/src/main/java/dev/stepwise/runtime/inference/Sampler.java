package dev.stepwise.runtime.inference;

import dev.stepwise.runtime.model.Policy;
import dev.stepwise.runtime.model.TextCodec;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * Batched sampling. Rows whose prompts have the same length share one forward pass per token
 * (through the policy's {@link Policy#decoding()}: a KV cache where it has one); each row draws its
 * uniforms from its own stream, seeded from (request seed, row), so a completion depends only on
 * the weights, its prompt, the seed and its row, not on how rows were batched.
 */
public final class Sampler {

  /** One row to complete. */
  public record Row(long[] prompt, long seed) {}

  /** A completion: its tokens (EOS included when it stopped), their log-probs, why it ended. */
  public record Completion(long[] tokens, float[] logProbs, boolean stopped) {}

  private Sampler() {}

  /**
   * Samples with {@code codec}'s end-of-answer token as the stop and its pad for done rows; with
   * {@code ignoreEos} every row runs to {@code maxTokens} (the end-of-answer token is kept as an
   * ordinary token, as vLLM's {@code ignore_eos} does: for benchmarks).
   */
  public static List<Completion> sample(
      Policy policy,
      TextCodec codec,
      org.bytedeco.pytorch.Device device,
      List<Row> rows,
      int maxTokens,
      double temperature,
      boolean ignoreEos) {
    var out = new Completion[rows.size()];
    var byLength = new TreeMap<Integer, List<Integer>>();
    for (var i = 0; i < rows.size(); i++) {
      byLength.computeIfAbsent(rows.get(i).prompt().length, k -> new ArrayList<>()).add(i);
    }
    try (var noGrad = new NoGradGuard()) {
      for (var group : byLength.entrySet()) {
        var members = group.getValue();
        var results =
            sampleGroup(
                policy,
                codec,
                device,
                rows,
                members,
                group.getKey(),
                maxTokens,
                temperature,
                ignoreEos);
        for (var k = 0; k < members.size(); k++) {
          out[members.get(k)] = results.get(k);
        }
      }
    }
    return List.of(out);
  }

  private static List<Completion> sampleGroup(
      Policy policy,
      TextCodec codec,
      org.bytedeco.pytorch.Device device,
      List<Row> rows,
      List<Integer> members,
      int promptLength,
      int maxTokens,
      double temperature,
      boolean ignoreEos) {
    var g = members.size();
    var vocab = policy.vocabSize();
    var flat = new long[g * promptLength];
    var random = new SplittableRandom[g];
    for (var k = 0; k < g; k++) {
      var row = rows.get(members.get(k));
      System.arraycopy(row.prompt(), 0, flat, k * promptLength, promptLength);
      random[k] = new SplittableRandom(row.seed());
    }
    var input = torch.tensor(flat).reshape(g, promptLength).to(device, torch.ScalarType.Long);
    try (var decoding = policy.decoding()) {
      var tokens = new long[g][maxTokens];
      var logProbs = new float[g][maxTokens];
      var lengths = new int[g];
      var stopped = new boolean[g];
      var active = g;
      var probs = temperature > 0 ? new float[g * vocab] : null;
      var picked = new double[2 * g];
      Tensor retained = null; // the next step's input, kept past its step's PointerScope
      for (var t = 0; t < maxTokens && active > 0; t++) {
        // Each token's intermediates (and the KV cache tensors it supersedes) go when it ends.
        try (var scope = new PointerScope()) {
          var last = decoding.next(input);
          if (temperature > 0) {
            var lp =
                last.div(new Scalar(temperature))
                    .log_softmax(1)
                    .to(new org.bytedeco.pytorch.Device("cpu"), torch.ScalarType.Float)
                    .contiguous();
            new FloatPointer(lp.data_ptr()).capacity(probs.length).get(probs);
          } else {
            // Greedy: the argmax (the first maximum) and its log-prob are taken on the device;
            // two numbers a row come back, not the row's whole distribution.
            var lp = last.log_softmax(1);
            var index = lp.argmax(new LongOptional(1), true);
            var both =
                torch
                    .cat(
                        new TensorVector(
                            index.to(torch.ScalarType.Double),
                            lp.gather(1, index).to(torch.ScalarType.Double)),
                        1)
                    .to(new org.bytedeco.pytorch.Device("cpu"), torch.ScalarType.Double)
                    .contiguous();
            new DoublePointer(both.data_ptr()).capacity(picked.length).get(picked);
          }
          var next = new long[g];
          for (var k = 0; k < g; k++) {
            if (stopped[k]) {
              next[k] = codec.pad();
              continue;
            }
            var base = k * vocab;
            long token;
            float logProb;
            if (temperature > 0) {
              token = draw(probs, base, vocab, random[k].nextDouble());
              logProb = probs[base + (int) token];
            } else {
              token = (long) picked[2 * k];
              logProb = (float) picked[2 * k + 1];
            }
            next[k] = token;
            tokens[k][lengths[k]] = token;
            logProbs[k][lengths[k]] = logProb;
            lengths[k]++;
            if (token == codec.endOfAnswer() && !ignoreEos) {
              stopped[k] = true;
              active--;
            }
          }
          if (active > 0 && t + 1 < maxTokens) {
            input = torch.tensor(next).reshape(g, 1).to(device, torch.ScalarType.Long);
            input.retainReference();
            if (retained != null) {
              retained.releaseReference();
            }
            retained = input;
          }
        }
      }
      if (retained != null) {
        retained.releaseReference();
      }
      var results = new ArrayList<Completion>(g);
      for (var k = 0; k < g; k++) {
        results.add(
            new Completion(
                java.util.Arrays.copyOf(tokens[k], lengths[k]),
                java.util.Arrays.copyOf(logProbs[k], lengths[k]),
                stopped[k]));
      }
      return results;
    }
  }

  /** Inverse-CDF draw from log-probabilities {@code lp[base, base+n)} with uniform {@code u}. */
  static int draw(float[] lp, int base, int n, double u) {
    var total = 0.0;
    for (var i = 0; i < n; i++) {
      total += Math.exp(lp[base + i]);
    }
    var target = u * total;
    var cumulative = 0.0;
    var lastPositive = 0;
    for (var i = 0; i < n; i++) {
      var p = Math.exp(lp[base + i]);
      if (p > 0) {
        lastPositive = i;
      }
      cumulative += p;
      if (target < cumulative) {
        return i;
      }
    }
    return lastPositive;
  }

  /** A row's seed: a hash of the request seed and the row index (SplitMix64 finaliser). */
  public static long rowSeed(long seed, long row) {
    var z = seed * 0x9e3779b97f4a7c15L + row + 0x632be59bd9b4e019L;
    z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
    z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
    return z ^ (z >>> 31);
  }
}
