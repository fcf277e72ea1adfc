package dev.stepwise.runtime.orchestrator;

import com.fasterxml.jackson.annotation.JsonProperty;

/** The orchestrator's checkpointed progress. */
public record OrchestratorProgress(
    @JsonProperty("step") long step,
    @JsonProperty("total_tokens") long totalTokens,
    @JsonProperty("total_samples") long totalSamples,
    @JsonProperty("total_problems") long totalProblems) {

  public static final OrchestratorProgress START = new OrchestratorProgress(0, 0, 0, 0);

  public OrchestratorProgress advance(long tokens, long samples, long problems) {
    return new OrchestratorProgress(
        step + 1, totalTokens + tokens, totalSamples + samples, totalProblems + problems);
  }
}
