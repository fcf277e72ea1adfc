package dev.stepwise.runtime.config;

/**
 * Configuration of {@code stepwise trainer}, the RL trainer: it reads the orchestrator's rollouts
 * of each step from the run directory, takes a clipped policy-gradient step and publishes weights.
 */
public record RlTrainerConfig(
    @Doc("Train until this step") @Min(1) int maxSteps,
    @Doc("Seed of weight init (when not initialised from a checkpoint)") @Min(0) long seed,
    @Doc("cpu or cuda") Device device,
    @Doc("Run directory shared with the orchestrator and inference") String outputDir,
    @Doc("Intra-op threads of torch and BLAS (pinned: results depend on it)") @Min(1) @Max(256)
        int threads,
    @Doc("Longest wait, in seconds, for a step's rollouts or the orchestrator's checkpoint part")
        @Min(value = 0, exclusive = true)
        double waitTimeout,
    @Doc("Model shape (must match init.checkpoint)") ModelConfig model,
    @Doc("Start from another run's checkpoint (model weights only)") InitConfig init,
    @Doc("Policy-gradient loss") LossConfig loss,
    @Doc("AdamW") OptimConfig optim,
    @Doc("Learning-rate schedule") SchedulerConfig scheduler,
    @Doc("Checkpointing") CkptConfig ckpt,
    @Doc("Logging") LogConfig log,
    @Doc(
            "Data parallelism (ranks come from RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT; collectives"
                + " wait at least wait-timeout, as rank 0 may wait that long for the orchestrator)")
        DistConfig dist,
    @Doc("Live progress on the TrainingRun (in a pod of the operator)") ProgressConfig progress,
    @Doc("Prometheus /metrics") MetricsConfig metrics)
    implements TrainerConfig {

  public static RlTrainerConfig defaults() {
    return new RlTrainerConfig(
        20,
        42,
        Device.CPU,
        ".",
        1,
        600,
        ModelConfig.defaults(),
        null,
        LossConfig.defaults(),
        new OptimConfig(3e-4, 0.0, 0.9, 0.99, 1e-8, 1.0),
        new SchedulerConfig(SchedulerConfig.Type.CONSTANT, 0, 0, 0.0),
        null,
        LogConfig.defaults(),
        DistConfig.defaults(),
        ProgressConfig.defaults(),
        MetricsConfig.defaults());
  }
}
