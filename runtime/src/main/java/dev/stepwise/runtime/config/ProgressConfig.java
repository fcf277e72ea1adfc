package dev.stepwise.runtime.config;

/** Live progress in {@code status.progress} of the TrainingRun (trainer rank 0 in a pod). */
public record ProgressConfig(
    @Doc(
            "Write the TrainingRun's status.progress at most every N seconds, and only when it"
                + " changed (0 = never); only in a pod of the operator")
        @Min(0)
        double interval) {

  public static ProgressConfig defaults() {
    return new ProgressConfig(30);
  }
}
