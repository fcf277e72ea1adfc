package dev.stepwise.runtime.config;

import dev.stepwise.api.CheckpointMetric;
import dev.stepwise.api.KeepBestSpec;
import dev.stepwise.api.MetricOrder;

/**
 * {@code [ckpt.keep-best]}: also keep the best checkpoints by a metric their manifest records, as
 * {@code spec.ckpt.keepBest} does (checked by {@link CkptConfig}: metric and count are required).
 */
public record KeepBestConfig(
    @Doc(
            "Metric to rank checkpoints by: loss, evalLoss, evalAccuracy (SFT with eval), meanReward (RL)")
        CheckpointMetric metric,
    @Doc(
            "min keeps the lowest, max the highest; unset: min for losses, max for accuracy and reward")
        MetricOrder order,
    @Doc("How many of the best to keep") @Min(1) Integer count) {

  public static KeepBestConfig defaults() {
    return new KeepBestConfig(null, null, null);
  }

  /** The same rule as the API spells it. */
  public KeepBestSpec toSpec() {
    return new KeepBestSpec(metric, order, count);
  }
}
