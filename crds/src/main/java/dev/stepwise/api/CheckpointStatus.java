package dev.stepwise.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/** What the operator observed of one checkpoint on disk. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class CheckpointStatus {

  @JsonPropertyDescription("Lifecycle phase: Pending, Ready, Deleting or Failed.")
  private CheckpointPhase phase;

  @JsonPropertyDescription(
      "Role (trainer, orchestrator) to the directory of its state, relative to the run"
          + " directory.")
  private Map<String, String> components = new TreeMap<>();

  @JsonPropertyDescription("Bytes the checkpoint occupies on the run directory volume.")
  private Long sizeBytes;

  @JsonPropertyDescription("When the checkpoint became complete (its manifest.json was written).")
  private String completedAt;

  @JsonPropertyDescription(
      "Timeline that wrote it. Each accepted resume starts a new timeline of the run; checkpoints"
          + " of an abandoned timeline are never recovered from, and are replaced when the new"
          + " timeline writes the same step.")
  private Long timeline;

  @JsonPropertyDescription("Why the checkpoint is in its phase, for humans.")
  private String message;

  @JsonPropertyDescription(
      "What training had reached at this step: samples, tokens, loss / eval accuracy / mean"
          + " reward, and the save's duration. ckpt.keepBest ranks by these.")
  private CheckpointMetrics metrics;

  public CheckpointMetrics getMetrics() {
    return metrics;
  }

  public void setMetrics(CheckpointMetrics metrics) {
    this.metrics = metrics;
  }

  public CheckpointPhase getPhase() {
    return phase;
  }

  public void setPhase(CheckpointPhase phase) {
    this.phase = phase;
  }

  public Map<String, String> getComponents() {
    return components;
  }

  public void setComponents(Map<String, String> components) {
    this.components = components;
  }

  public Long getSizeBytes() {
    return sizeBytes;
  }

  public void setSizeBytes(Long sizeBytes) {
    this.sizeBytes = sizeBytes;
  }

  public String getCompletedAt() {
    return completedAt;
  }

  public void setCompletedAt(String completedAt) {
    this.completedAt = completedAt;
  }

  public Long getTimeline() {
    return timeline;
  }

  public void setTimeline(Long timeline) {
    this.timeline = timeline;
  }

  public String getMessage() {
    return message;
  }

  public void setMessage(String message) {
    this.message = message;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof CheckpointStatus s
        && phase == s.phase
        && Objects.equals(components, s.components)
        && Objects.equals(sizeBytes, s.sizeBytes)
        && Objects.equals(completedAt, s.completedAt)
        && Objects.equals(timeline, s.timeline)
        && Objects.equals(message, s.message)
        && Objects.equals(metrics, s.metrics);
  }

  @Override
  public int hashCode() {
    return Objects.hash(phase, components, sizeBytes, completedAt, timeline, message, metrics);
  }
}
