package dev.stepwise.runtime.config;

/**
 * Configuration of {@code stepwise sft}: the schema its TOML files and flags are checked against.
 */
public record SftConfig(
    @Doc("Train until this step") @Min(1) int maxSteps,
    @Doc("Seed of weight init and data") @Min(0) long seed,
    @Doc("cpu or cuda") Device device,
    @Doc("Run directory (checkpoints/ goes under it)") String outputDir,
    @Doc("Intra-op threads of torch and BLAS (pinned: results depend on it)") @Min(1) @Max(256)
        int threads,
    @Doc("Model shape (must match init.checkpoint)") ModelConfig model,
    @Doc(
            "Start a fresh run from another run's checkpoint: model weights only, a fresh optimizer"
                + " (ignored when resuming from this run's own checkpoints)")
        InitConfig init,
    @Doc("Reverse-text data") DataConfig data,
    @Doc("AdamW") OptimConfig optim,
    @Doc("Learning-rate schedule") SchedulerConfig scheduler,
    @Doc("Checkpointing") CkptConfig ckpt,
    @Doc("Held-out evaluation") EvalConfig eval,
    @Doc("Logging") LogConfig log,
    @Doc("Data parallelism (ranks come from RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT)")
        DistConfig dist,
    @Doc("Live progress on the TrainingRun (in a pod of the operator)") ProgressConfig progress,
    @Doc("Prometheus /metrics") MetricsConfig metrics)
    implements TrainerConfig {

  public SftConfig {
    var longest = 2 * data.maxLen() + 3;
    if (!model.isHf() && longest > model.maxSeqLen()) {
      throw new IllegalArgumentException(
          "model.max-seq-len ("
              + model.maxSeqLen()
              + ") is too short for data.max-len "
              + data.maxLen()
              + " (needs "
              + longest
              + ")");
    }
  }

  public static SftConfig defaults() {
    return new SftConfig(
        100,
        42,
        Device.CPU,
        ".",
        1,
        ModelConfig.defaults(),
        null,
        DataConfig.defaults(),
        OptimConfig.defaults(),
        SchedulerConfig.defaults(),
        null,
        EvalConfig.defaults(),
        LogConfig.defaults(),
        DistConfig.defaults(),
        ProgressConfig.defaults(),
        MetricsConfig.defaults());
  }
}
