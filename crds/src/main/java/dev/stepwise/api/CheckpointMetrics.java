package dev.stepwise.api;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import java.util.Objects;

/**
 * What training had reached at a checkpoint's step, reported by the trainer with the checkpoint
 * (also written into its manifest, so the local runtime ranks by the same numbers).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class CheckpointMetrics {

  @JsonPropertyDescription("Training samples consumed up to and including this step.")
  private Long samples;

  @JsonPropertyDescription("Training tokens consumed up to and including this step.")
  private Long tokens;

  @JsonPropertyDescription("Training loss at this step.")
  private Double loss;

  @JsonPropertyDescription("Held-out loss at this step (SFT with eval).")
  private Double evalLoss;

  @JsonPropertyDescription("Held-out exact-answer accuracy at this step (SFT with eval).")
  private Double evalAccuracy;

  @JsonPropertyDescription("Mean reward of the rollouts trained on at this step (RL).")
  private Double meanReward;

  @JsonPropertyDescription("Seconds the save took, from snapshot to the manifest on disk.")
  private Double saveSeconds;

  /** The value of {@code metric}, or null when this checkpoint has none. */
  @JsonIgnore
  public Double value(CheckpointMetric metric) {
    return switch (metric) {
      case loss -> loss;
      case evalLoss -> evalLoss;
      case evalAccuracy -> evalAccuracy;
      case meanReward -> meanReward;
    };
  }

  public Long getSamples() {
    return samples;
  }

  public void setSamples(Long samples) {
    this.samples = samples;
  }

  public Long getTokens() {
    return tokens;
  }

  public void setTokens(Long tokens) {
    this.tokens = tokens;
  }

  public Double getLoss() {
    return loss;
  }

  public void setLoss(Double loss) {
    this.loss = loss;
  }

  public Double getEvalLoss() {
    return evalLoss;
  }

  public void setEvalLoss(Double evalLoss) {
    this.evalLoss = evalLoss;
  }

  public Double getEvalAccuracy() {
    return evalAccuracy;
  }

  public void setEvalAccuracy(Double evalAccuracy) {
    this.evalAccuracy = evalAccuracy;
  }

  public Double getMeanReward() {
    return meanReward;
  }

  public void setMeanReward(Double meanReward) {
    this.meanReward = meanReward;
  }

  public Double getSaveSeconds() {
    return saveSeconds;
  }

  public void setSaveSeconds(Double saveSeconds) {
    this.saveSeconds = saveSeconds;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof CheckpointMetrics m
        && Objects.equals(samples, m.samples)
        && Objects.equals(tokens, m.tokens)
        && Objects.equals(loss, m.loss)
        && Objects.equals(evalLoss, m.evalLoss)
        && Objects.equals(evalAccuracy, m.evalAccuracy)
        && Objects.equals(meanReward, m.meanReward)
        && Objects.equals(saveSeconds, m.saveSeconds);
  }

  @Override
  public int hashCode() {
    return Objects.hash(samples, tokens, loss, evalLoss, evalAccuracy, meanReward, saveSeconds);
  }
}
