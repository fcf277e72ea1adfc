package dev.stepwise.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import java.util.Objects;

/**
 * Live progress of a run between checkpoints, written by its trainer (rank 0) at most once per
 * {@code --progress.interval} and never when nothing changed. Only the trainer writes it; the
 * operator leaves it as it finds it.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class RunProgress {

  @JsonPropertyDescription("Training step last completed (not necessarily checkpointed).")
  private Long step;

  @JsonPropertyDescription("\"<step>/<maxSteps> (<percent>%)\", for kubectl get.")
  private String summary;

  @JsonPropertyDescription("Training tokens per second over the last interval.")
  private Double tokensPerSecond;

  @JsonPropertyDescription("Estimated time to maxSteps at the current speed, e.g. 1h2m3s.")
  private String eta;

  @JsonPropertyDescription("Latest training loss.")
  private Double loss;

  @JsonPropertyDescription("Latest held-out accuracy (SFT with eval).")
  private Double evalAccuracy;

  @JsonPropertyDescription("Latest mean rollout reward (RL).")
  private Double meanReward;

  @JsonPropertyDescription("Bytes used on the run directory's volume.")
  private Long diskUsedBytes;

  @JsonPropertyDescription("Capacity in bytes of the run directory's volume.")
  private Long diskCapacityBytes;

  @JsonPropertyDescription("When the trainer wrote this progress (RFC 3339).")
  private String updatedAt;

  public Long getStep() {
    return step;
  }

  public void setStep(Long step) {
    this.step = step;
  }

  public String getSummary() {
    return summary;
  }

  public void setSummary(String summary) {
    this.summary = summary;
  }

  public Double getTokensPerSecond() {
    return tokensPerSecond;
  }

  public void setTokensPerSecond(Double tokensPerSecond) {
    this.tokensPerSecond = tokensPerSecond;
  }

  public String getEta() {
    return eta;
  }

  public void setEta(String eta) {
    this.eta = eta;
  }

  public Double getLoss() {
    return loss;
  }

  public void setLoss(Double loss) {
    this.loss = loss;
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

  public Long getDiskUsedBytes() {
    return diskUsedBytes;
  }

  public void setDiskUsedBytes(Long diskUsedBytes) {
    this.diskUsedBytes = diskUsedBytes;
  }

  public Long getDiskCapacityBytes() {
    return diskCapacityBytes;
  }

  public void setDiskCapacityBytes(Long diskCapacityBytes) {
    this.diskCapacityBytes = diskCapacityBytes;
  }

  public String getUpdatedAt() {
    return updatedAt;
  }

  public void setUpdatedAt(String updatedAt) {
    this.updatedAt = updatedAt;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof RunProgress p
        && Objects.equals(step, p.step)
        && Objects.equals(summary, p.summary)
        && Objects.equals(tokensPerSecond, p.tokensPerSecond)
        && Objects.equals(eta, p.eta)
        && Objects.equals(loss, p.loss)
        && Objects.equals(evalAccuracy, p.evalAccuracy)
        && Objects.equals(meanReward, p.meanReward)
        && Objects.equals(diskUsedBytes, p.diskUsedBytes)
        && Objects.equals(diskCapacityBytes, p.diskCapacityBytes)
        && Objects.equals(updatedAt, p.updatedAt);
  }

  @Override
  public int hashCode() {
    return Objects.hash(
        step,
        summary,
        tokensPerSecond,
        eta,
        loss,
        evalAccuracy,
        meanReward,
        diskUsedBytes,
        diskCapacityBytes,
        updatedAt);
  }
}
