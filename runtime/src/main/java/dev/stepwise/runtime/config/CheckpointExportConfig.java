package dev.stepwise.runtime.config;

import dev.stepwise.runtime.model.HfExport;

/**
 * Configuration of {@code stepwise checkpoint export}: the model of a complete checkpoint as a
 * model directory of another format.
 */
public record CheckpointExportConfig(
    @Doc("Format written: hf, a Hugging Face model directory (required)") Format format,
    @Doc("The complete checkpoint step directory exported (the first bare argument)")
        String stepDir,
    @Doc("Directory written (the second bare argument)") String out,
    @Doc("Hugging Face model directory whose config and tokenizer go with the weights")
        String model,
    @Doc("Largest safetensors shard, in bytes") @Min(0) long maxShardBytes,
    @Doc("Logging") LogConfig log) {

  /** What an export writes. */
  public enum Format {
    HF
  }

  public static CheckpointExportConfig defaults() {
    return new CheckpointExportConfig(
        null, null, null, null, HfExport.DEFAULT_MAX_SHARD_BYTES, LogConfig.defaults());
  }
}
