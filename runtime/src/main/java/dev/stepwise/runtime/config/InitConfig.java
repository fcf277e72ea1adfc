package dev.stepwise.runtime.config;

import dev.stepwise.api.RunPaths;

/**
 * Where a fresh SFT or RL run's model starts: the model weights of a complete checkpoint (no
 * optimizer state).
 */
public record InitConfig(
    @Doc("A complete checkpoint step directory, e.g. sft-run/checkpoints/step_600")
        String checkpoint) {

  public InitConfig {
    if (checkpoint == null || checkpoint.isBlank()) {
      throw new IllegalArgumentException("checkpoint must name a checkpoint step directory");
    }
  }

  public static InitConfig defaults() {
    return new InitConfig(RunPaths.checkpointDir(0));
  }
}
