package dev.stepwise.runtime.config;

/**
 * Learning-rate schedule: linear warmup, then constant or a decay over a fixed number of steps. The
 * decay horizon is its own key (not max-steps) so that a run split in two follows the same schedule
 * as the run done in one go.
 */
public record SchedulerConfig(
    @Doc("constant, linear or cosine (after warmup)") Type type,
    @Doc("Steps of linear warmup from 0 to optim.lr") @Min(0) int warmupSteps,
    @Doc("Steps of decay after warmup (linear/cosine)") @Min(0) int decaySteps,
    @Doc("Learning rate at the end of the decay") @Min(0) double minLr) {

  /** Schedule shape after warmup. */
  public enum Type {
    CONSTANT,
    LINEAR,
    COSINE
  }

  public SchedulerConfig {
    if (type != Type.CONSTANT && decaySteps < 1) {
      throw new IllegalArgumentException(
          "decay-steps must be >= 1 for a " + ConfigSchema.enumName(type) + " schedule");
    }
  }

  public static SchedulerConfig defaults() {
    return new SchedulerConfig(Type.CONSTANT, 10, 0, 0.0);
  }
}
