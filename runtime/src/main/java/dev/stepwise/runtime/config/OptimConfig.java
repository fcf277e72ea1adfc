package dev.stepwise.runtime.config;

/** AdamW. */
public record OptimConfig(
    @Doc("Peak learning rate") @Min(value = 0, exclusive = true) @Max(10) double lr,
    @Doc("Decoupled weight decay") @Min(0) @Max(1) double weightDecay,
    @Doc("First-moment decay") @Min(0) @Max(value = 1, exclusive = true) double beta1,
    @Doc("Second-moment decay") @Min(0) @Max(value = 1, exclusive = true) double beta2,
    @Doc("Denominator epsilon") @Min(value = 0, exclusive = true) double eps,
    @Doc("Clip the global gradient norm to this (0 = no clipping)") @Min(0) double maxNorm) {

  public static OptimConfig defaults() {
    return new OptimConfig(3e-3, 0.01, 0.9, 0.99, 1e-8, 1.0);
  }
}
