package dev.stepwise.runtime.trainer;

import dev.stepwise.runtime.config.SchedulerConfig;

/**
 * Learning rate as a pure function of the step: linear warmup, then constant or a linear/cosine
 * decay over {@code decay-steps}. Being a function of the step, its only state is the step.
 */
public record LrSchedule(SchedulerConfig config, double peakLr) {

  /** Learning rate used by step {@code step} (1-based). */
  public double lr(long step) {
    var warmup = config.warmupSteps();
    if (step <= warmup) {
      return peakLr * step / warmup;
    }
    var progress = Math.min(1.0, (double) (step - warmup) / Math.max(1, config.decaySteps()));
    var min = config.minLr();
    return switch (config.type()) {
      case CONSTANT -> peakLr;
      case LINEAR -> peakLr + (min - peakLr) * progress;
      case COSINE -> min + (peakLr - min) * 0.5 * (1 + Math.cos(Math.PI * progress));
    };
  }
}
