package dev.stepwise.runtime.model;

import java.util.SortedMap;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * What trainers (SFT and RL) and inference need from a language model: its named parameters,
 * logits, per-token log-probabilities and generation.
 */
public interface Policy {

  SortedMap<String, Tensor> parameters();

  /** How many numbers the parameters hold. */
  default long parameterCount() {
    return parameters().values().stream().mapToLong(Tensor::numel).sum();
  }

  /** Size of the token vocabulary (the logits' last dimension). */
  int vocabSize();

  /** {@code [B, T, V]} logits for {@code [B, T]} int64 token ids. */
  Tensor logits(Tensor tokens);

  /** {@code [B, T-1]} log-probabilities of {@code tokens[:, 1:]} given their prefixes. */
  Tensor tokenLogProbs(Tensor tokens);

  /**
   * Incremental decoding of a batch: the first call feeds the prompts {@code [B, P]}, each later
   * one the next token of every row {@code [B, 1]}; each returns the logits {@code [B, V]} of the
   * last position.
   */
  @FunctionalInterface
  interface Decoding extends AutoCloseable {
    Tensor next(Tensor tokens);

    /** Frees what the decoding holds (a KV cache's device memory). */
    @Override
    default void close() {}
  }

  /** A fresh decoding; by default every call recomputes the whole sequence (no cache). */
  default Decoding decoding() {
    return new Decoding() {
      private Tensor seq;

      @Override
      public Tensor next(Tensor tokens) {
        var longer = seq == null ? tokens : torch.cat(new TensorVector(seq, tokens), 1);
        // Held past the PointerScope of the step that made it (Sampler opens one per token).
        longer.retainReference();
        close();
        seq = longer;
        var len = seq.size(1);
        return logits(seq).narrow(1, len - 1, 1).squeeze(1);
      }

      @Override
      public void close() {
        if (seq != null) {
          seq.releaseReference();
          seq = null;
        }
      }
    };
  }

  /** Greedy ({@code temperature == 0}) or sampled continuation of equal-length prompts. */
  Tensor generate(Tensor prompts, int maxNew, double temperature, Generator generator);
}
