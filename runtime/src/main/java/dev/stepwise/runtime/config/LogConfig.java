package dev.stepwise.runtime.config;

/** Console logging. */
public record LogConfig(
    @Doc("Print a step line every N steps") @Min(1) int interval,
    @Doc("Print a progress line with ETA every N steps (0 = about every 10%)") @Min(0)
        int progressInterval) {

  public static LogConfig defaults() {
    return new LogConfig(1, 0);
  }
}
