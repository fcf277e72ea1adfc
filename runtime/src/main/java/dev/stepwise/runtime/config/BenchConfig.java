package dev.stepwise.runtime.config;

/** Configuration of {@code stepwise bench}. */
public record BenchConfig(
    @Doc("Directory to benchmark in (a scratch dir is created and removed under it)")
        String outputDir,
    @Doc("Intra-op threads of torch") @Min(1) @Max(256) int threads,
    @Doc(
            "cpu or cuda: where the model trains in the stall measurement (checkpoints are written"
                + " from host copies either way)")
        Device device,
    @Doc("Repetitions of each throughput measurement (the median is reported)") @Min(1) @Max(100)
        int repeats,
    @Doc("Training steps per stall measurement") @Min(4) @Max(100000) int steps,
    @Doc("Save every N steps in the stall measurement") @Min(1) int saveEvery,
    @Doc("Sequences per training step") @Min(1) int batchSize,
    @Doc("Model benchmarked (the default is about 19M parameters, 225 MB with AdamW state)")
        ModelConfig model,
    @Doc(
            "Python that runs the peers (safetensors, torch where installed) on the same state;"
                + " empty to skip them")
        String python,
    @Doc("Logging (the tables themselves always go to standard output)") LogConfig log) {

  public static BenchConfig defaults() {
    return new BenchConfig(
        ".",
        1,
        Device.CPU,
        3,
        30,
        5,
        8,
        new ModelConfig(512, 6, 8, 2048, 32),
        "python3",
        LogConfig.defaults());
  }
}
