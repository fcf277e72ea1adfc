package dev.stepwise.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Required;

/** {@code ckpt.keepBest}: also keep the best checkpoints by a metric the trainer reports. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class KeepBestSpec {

  @JsonPropertyDescription(
      "Metric the checkpoints are ranked by: loss, evalLoss, evalAccuracy (SFT with eval) or"
          + " meanReward (RL). Checkpoints without it are not ranked (--ckpt.keep-best.metric).")
  @Required
  private CheckpointMetric metric;

  @JsonPropertyDescription(
      "min keeps the lowest values, max the highest. Default: min for loss and evalLoss, max for"
          + " evalAccuracy and meanReward (--ckpt.keep-best.order).")
  private MetricOrder order;

  @JsonPropertyDescription("How many of the best to keep (--ckpt.keep-best.count).")
  @Required
  @Min(1)
  private Integer count;

  public KeepBestSpec() {}

  public KeepBestSpec(CheckpointMetric metric, MetricOrder order, Integer count) {
    this.metric = metric;
    this.order = order;
    this.count = count;
  }

  public CheckpointMetric getMetric() {
    return metric;
  }

  public void setMetric(CheckpointMetric metric) {
    this.metric = metric;
  }

  public MetricOrder getOrder() {
    return order;
  }

  public void setOrder(MetricOrder order) {
    this.order = order;
  }

  /** {@link #getOrder()}, or the metric's natural order when unset. */
  public MetricOrder effectiveOrder() {
    return order != null ? order : metric.better();
  }

  public Integer getCount() {
    return count;
  }

  public void setCount(Integer count) {
    this.count = count;
  }
}
