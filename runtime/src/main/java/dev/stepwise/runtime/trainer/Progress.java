package dev.stepwise.runtime.trainer;

import com.fasterxml.jackson.annotation.JsonProperty;

/** How far training has come: the seed's progress record (step, total samples, total tokens). */
public record Progress(
    @JsonProperty("step") long step,
    @JsonProperty("total_samples") long totalSamples,
    @JsonProperty("total_tokens") long totalTokens) {

  public static final Progress START = new Progress(0, 0, 0);

  public Progress advance(long samples, long tokens) {
    return new Progress(step + 1, totalSamples + samples, totalTokens + tokens);
  }
}
