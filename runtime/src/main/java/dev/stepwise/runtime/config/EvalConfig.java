package dev.stepwise.runtime.config;

/** Held-out evaluation: exact-match accuracy of greedy generation. */
public record EvalConfig(
    @Doc("Held-out examples to evaluate (0 = no evaluation)") @Min(0) int samples,
    @Doc("Also evaluate every N steps (0 = only at the end)") @Min(0) int interval) {

  public static EvalConfig defaults() {
    return new EvalConfig(256, 0);
  }
}
