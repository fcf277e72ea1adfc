package dev.stepwise.runtime.config;

/** The clipped policy-gradient objective of the RL trainer. */
public record LossConfig(
    @Doc("Clip the importance ratio to [1 - eps, 1 + eps]") @Min(0) @Max(1) double clipEpsilon) {

  public static LossConfig defaults() {
    return new LossConfig(0.2);
  }
}
