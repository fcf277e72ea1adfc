package dev.stepwise.runtime.inference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.runtime.model.ByteTokenizer;
import dev.stepwise.runtime.model.Policy;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

/**
 * Greedy sampling (argmax and its log-prob taken on the device) on a policy whose every position
 * puts its mass on the end-of-answer token: a row stops there, unless {@code ignoreEos}.
 */
class SamplerTest {

  private static final long EOS = ByteTokenizer.CODEC.endOfAnswer();

  /** Logits 0 everywhere but 3 at the end-of-answer token. */
  private static final class EosPolicy implements Policy {
    @Override
    public SortedMap<String, Tensor> parameters() {
      return new TreeMap<>();
    }

    @Override
    public int vocabSize() {
      return ByteTokenizer.VOCAB_SIZE;
    }

    @Override
    public Tensor logits(Tensor tokens) {
      var logits = torch.zeros(tokens.size(0), tokens.size(1), vocabSize());
      logits.narrow(2, EOS, 1).fill_(new Scalar(3.0));
      return logits;
    }

    @Override
    public Tensor tokenLogProbs(Tensor tokens) {
      throw new UnsupportedOperationException();
    }

    @Override
    public Tensor generate(Tensor prompts, int maxNew, double temperature, Generator generator) {
      throw new UnsupportedOperationException();
    }
  }

  @Test
  void greedyStopsAtEndOfAnswerUnlessIgnored() {
    var rows =
        List.of(new Sampler.Row(new long[] {1, 2}, 1), new Sampler.Row(new long[] {3, 4}, 2));
    var cpu = new Device("cpu");
    var stopped = Sampler.sample(new EosPolicy(), ByteTokenizer.CODEC, cpu, rows, 5, 0.0, false);
    var expected = (float) (3 - Math.log(Math.exp(3) + ByteTokenizer.VOCAB_SIZE - 1));
    for (var c : stopped) {
      assertArrayEquals(new long[] {EOS}, c.tokens());
      assertTrue(c.stopped());
      assertEquals(expected, c.logProbs()[0], 1e-6);
    }
    var ignored = Sampler.sample(new EosPolicy(), ByteTokenizer.CODEC, cpu, rows, 5, 0.0, true);
    for (var c : ignored) {
      assertArrayEquals(new long[] {EOS, EOS, EOS, EOS, EOS}, c.tokens());
      assertFalse(c.stopped());
      assertEquals(expected, c.logProbs()[4], 1e-6);
    }
  }
}
