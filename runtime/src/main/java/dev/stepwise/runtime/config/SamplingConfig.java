package dev.stepwise.runtime.config;

/** Sampling parameters the orchestrator asks inference for. */
public record SamplingConfig(
    @Doc("Longest completion, in tokens") @Min(1) @Max(65536) int maxTokens,
    @Doc("Sampling temperature (the trainer uses the same)")
        @Min(value = 0, exclusive = true)
        @Max(10)
        double temperature) {

  public static SamplingConfig defaults() {
    return new SamplingConfig(12, 1.0);
  }
}
