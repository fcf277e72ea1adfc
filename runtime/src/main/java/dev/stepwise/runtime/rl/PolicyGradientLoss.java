package dev.stepwise.runtime.rl;

import dev.stepwise.runtime.model.Policy;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The clipped policy-gradient objective: per completion token, {@code -min(r A, clip(r, 1-eps,
 * 1+eps) A)} with importance ratio {@code r = exp(logp_now - logp_sampling)} and the sequence's
 * group-relative advantage {@code A}, averaged over all completion tokens of the batch. Log-probs
 * are those of the tempered policy ({@code logits / temperature}), as sampled.
 */
public final class PolicyGradientLoss {

  /** The loss and what is worth logging about it. */
  public record Value(Tensor loss, double clippedFraction, double meanRatio) {}

  private PolicyGradientLoss() {}

  public static Value compute(
      Policy policy, RolloutBatch batch, double temperature, double clipEpsilon) {
    var tokens = batch.tokens();
    var t = tokens.size(1);
    var logits = policy.logits(tokens).narrow(1, 0, t - 1);
    if (temperature != 1.0) {
      logits = logits.div(new Scalar(temperature));
    }
    var targets = tokens.narrow(1, 1, t - 1).unsqueeze(2);
    var logProbs = logits.log_softmax(2).gather(2, targets).squeeze(2);
    var mask = batch.lossMask();
    var ratio = logProbs.sub(batch.samplingLogProbs()).mul(mask).exp();
    var advantages = batch.advantages();
    var unclipped = ratio.mul(advantages);
    var clippedRatio =
        ratio.clamp(
            new org.bytedeco.pytorch.ScalarOptional(new Scalar(1 - clipEpsilon)),
            new org.bytedeco.pytorch.ScalarOptional(new Scalar(1 + clipEpsilon)));
    var clipped = clippedRatio.mul(advantages);
    var objective = torch.minimum(unclipped, clipped);
    var count = mask.sum();
    // A data-parallel rank's share may hold no completion token: its loss is 0, not 0/0.
    var loss = objective.mul(mask).sum().neg().div(count.clamp_min(new Scalar(1.0)));
    var tokensCount = Math.max(1.0, count.item_double());
    var clippedFraction =
        ratio
                .sub(clippedRatio)
                .abs()
                .gt(new Scalar(0.0))
                .to(torch.ScalarType.Float)
                .mul(mask)
                .sum()
                .item_double()
            / tokensCount;
    var meanRatio = ratio.detach().mul(mask).sum().item_double() / tokensCount;
    return new Value(loss, clippedFraction, meanRatio);
  }
}
