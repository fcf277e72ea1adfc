package dev.stepwise.runtime.config;

/** The RL reverse-text problems: random strings to be reversed. */
public record TaskConfig(
    @Doc("Shortest string to reverse") @Min(1) @Max(1000) int minLen,
    @Doc("Longest string to reverse") @Min(1) @Max(1000) int maxLen,
    @Doc("Characters the strings are drawn from") String alphabet) {

  public TaskConfig {
    new DataConfig(minLen, maxLen, alphabet, 1);
  }

  /** The same problems as a {@link DataConfig} (one string per batch row). */
  public DataConfig asData(int batchSize) {
    return new DataConfig(minLen, maxLen, alphabet, batchSize);
  }

  public static TaskConfig defaults() {
    var d = DataConfig.defaults();
    return new TaskConfig(d.minLen(), d.maxLen(), d.alphabet());
  }
}
