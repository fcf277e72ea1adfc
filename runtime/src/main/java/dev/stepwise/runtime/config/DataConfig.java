package dev.stepwise.runtime.config;

/** The reverse-text task: random strings, generated from the run's seed, to be reversed. */
public record DataConfig(
    @Doc("Shortest string to reverse") @Min(1) @Max(1000) int minLen,
    @Doc("Longest string to reverse") @Min(1) @Max(1000) int maxLen,
    @Doc("Characters the strings are drawn from") String alphabet,
    @Doc("Sequences per step (the global batch, split evenly across ranks)") @Min(1) @Max(65536)
        int batchSize) {

  public DataConfig {
    if (minLen > maxLen) {
      throw new IllegalArgumentException(
          "min-len (" + minLen + ") must be <= max-len (" + maxLen + ")");
    }
    if (alphabet.isEmpty() || alphabet.chars().anyMatch(c -> c > 127)) {
      throw new IllegalArgumentException("alphabet must be non-empty ASCII");
    }
  }

  public static DataConfig defaults() {
    return new DataConfig(3, 8, "abcdefghijklmnopqrstuvwxyz", 32);
  }
}
