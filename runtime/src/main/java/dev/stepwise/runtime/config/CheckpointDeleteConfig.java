package dev.stepwise.runtime.config;

import dev.stepwise.runtime.checkpoint.RunLayout;

/** Configuration of {@code stepwise checkpoint delete}: which checkpoint's data goes. */
public record CheckpointDeleteConfig(
    @Doc("Run directory") String outputDir,
    @Doc("Checkpoint directory, relative to output-dir") String checkpointsDir,
    @Doc("Step of the checkpoint to delete (required)") @Min(0) Long step,
    @Doc("Delete only a checkpoint this timeline wrote (another timeline's is left alone)") @Min(0)
        Long timeline,
    @Doc("Logging") LogConfig log) {

  public static CheckpointDeleteConfig defaults() {
    return new CheckpointDeleteConfig(
        ".", RunLayout.DEFAULT_CHECKPOINTS, null, null, LogConfig.defaults());
  }
}
