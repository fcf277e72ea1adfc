package dev.stepwise.api;

/**
 * A metric the trainer reports with each checkpoint, by which {@code ckpt.keepBest} may rank them.
 * The names are those of {@link CheckpointMetrics}' fields and of the runtime's metrics log.
 */
public enum CheckpointMetric {
  /** Training loss at the checkpoint's step (SFT and RL); lower is better. */
  loss(MetricOrder.min),
  /** Loss on the held-out set at the checkpoint's step (SFT with eval); lower is better. */
  evalLoss(MetricOrder.min),
  /** Exact-answer accuracy on the held-out set (SFT with eval); higher is better. */
  evalAccuracy(MetricOrder.max),
  /** Mean reward of the rollouts trained on at the step (RL); higher is better. */
  meanReward(MetricOrder.max);

  private final MetricOrder better;

  CheckpointMetric(MetricOrder better) {
    this.better = better;
  }

  /** Which way is better when {@code keepBest.order} is not given. */
  public MetricOrder better() {
    return better;
  }
}
