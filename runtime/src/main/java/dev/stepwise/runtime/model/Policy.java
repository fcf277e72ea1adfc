package dev.stepwise.runtime.model;

import java.util.SortedMap;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.Tensor;

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

  /** Greedy ({@code temperature == 0}) or sampled continuation of equal-length prompts. */
  Tensor generate(Tensor prompts, int maxNew, double temperature, Generator generator);
}
