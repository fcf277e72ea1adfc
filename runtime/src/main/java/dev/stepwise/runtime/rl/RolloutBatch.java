package dev.stepwise.runtime.rl;

import dev.stepwise.runtime.checkpoint.Rollouts;
import dev.stepwise.runtime.config.ConfigException;
import dev.stepwise.runtime.model.ByteTokenizer;
import java.util.List;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * A step's rollouts as training tensors: tokens {@code [B, T]} (prompt, completion, PAD), and over
 * next-token positions {@code [B, T-1]} the completion mask and the sampling log-probs; advantages
 * {@code [B, 1]}. With several data-parallel ranks each rank builds the batch of its own share of
 * the step's samples ({@link #share}).
 */
public record RolloutBatch(
    Tensor tokens,
    Tensor lossMask,
    Tensor samplingLogProbs,
    Tensor advantages,
    int samples,
    long tokenCount,
    long lossTokens,
    double meanReward) {

  /** The whole step's batch (one rank). */
  public static RolloutBatch of(Rollouts rollouts, Device device) {
    return of(rollouts.samples(), device, ByteTokenizer.PAD);
  }

  /** Rank {@code rank}'s batch of a step trained by {@code worldSize} data-parallel ranks. */
  public static RolloutBatch of(Rollouts rollouts, Device device, int rank, int worldSize) {
    return of(rollouts, device, rank, worldSize, ByteTokenizer.PAD);
  }

  /** As {@link #of(Rollouts, Device, int, int)}, padding with the tokenizer's {@code pad}. */
  public static RolloutBatch of(
      Rollouts rollouts, Device device, int rank, int worldSize, long pad) {
    return of(share(rollouts, rank, worldSize), device, pad);
  }

  /**
   * Rank {@code rank}'s contiguous slice of the step's samples: samples {@code [r*B/W, (r+1)*B/W)}.
   * Every rank reads the same rollouts, so the split needs no coordination; the batch must divide
   * evenly, or the ranks' gradients would not weigh the same samples as one rank's.
   */
  public static List<Rollouts.Sample> share(Rollouts rollouts, int rank, int worldSize) {
    var all = rollouts.samples();
    if (all.size() % worldSize != 0) {
      throw new ConfigException(
          "batch-size: the rollouts of step "
              + rollouts.step()
              + " hold "
              + all.size()
              + " samples, which do not split evenly across WORLD_SIZE="
              + worldSize
              + " trainer ranks (make the orchestrator's batch-size a multiple of "
              + worldSize
              + ")");
    }
    var per = all.size() / worldSize;
    return all.subList(rank * per, (rank + 1) * per);
  }

  private static RolloutBatch of(List<Rollouts.Sample> samples, Device device, long pad) {
    var b = samples.size();
    var t = 2;
    for (var s : samples) {
      t = Math.max(t, s.promptIds().length + s.completionIds().length);
    }
    var tokens = new long[b * t];
    var mask = new float[b * (t - 1)];
    var logProbs = new float[b * (t - 1)];
    var advantages = new float[b];
    java.util.Arrays.fill(tokens, pad);
    long count = 0;
    long completionTokens = 0;
    var rewards = 0.0;
    for (var i = 0; i < b; i++) {
      var s = samples.get(i);
      var p = s.promptIds().length;
      System.arraycopy(s.promptIds(), 0, tokens, i * t, p);
      System.arraycopy(s.completionIds(), 0, tokens, i * t + p, s.completionIds().length);
      // Position q predicts token q+1: completion token k sits at p+k, predicted from p+k-1.
      for (var k = 0; k < s.completionIds().length; k++) {
        mask[i * (t - 1) + p + k - 1] = 1f;
        logProbs[i * (t - 1) + p + k - 1] = s.completionLogProbs()[k];
      }
      advantages[i] = (float) s.advantage();
      count += p + s.completionIds().length;
      completionTokens += s.completionIds().length;
      rewards += s.reward();
    }
    return new RolloutBatch(
        torch.tensor(tokens).reshape(b, t).to(device, torch.ScalarType.Long),
        torch.tensor(mask).reshape(b, t - 1).to(device, torch.ScalarType.Float),
        torch.tensor(logProbs).reshape(b, t - 1).to(device, torch.ScalarType.Float),
        torch.tensor(advantages).reshape(b, 1).to(device, torch.ScalarType.Float),
        b,
        count,
        completionTokens,
        rewards / Math.max(1, b));
  }
}
