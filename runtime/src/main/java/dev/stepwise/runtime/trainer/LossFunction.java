package dev.stepwise.runtime.trainer;

import dev.stepwise.runtime.data.Batch;
import dev.stepwise.runtime.model.Policy;
import org.bytedeco.pytorch.Tensor;

/** The objective a trainer minimises; SFT uses {@link #maskedNll()}, RL plugs in its own. */
@FunctionalInterface
public interface LossFunction {

  /** A scalar loss tensor (with a graph back to the policy's parameters). */
  Tensor loss(Policy policy, Batch batch);

  /** Mean negative log-likelihood of the tokens the batch's loss mask selects. */
  static LossFunction maskedNll() {
    return (policy, batch) -> {
      var logProbs = policy.tokenLogProbs(batch.tokens());
      return logProbs.mul(batch.lossMask()).sum().neg().div(batch.lossMask().sum());
    };
  }
}
