package dev.stepwise.runtime.config;

/**
 * Configuration of {@code stepwise orchestrator}: samples reverse-text problems, gets completions
 * from inference, scores them and writes each step's rollouts for the trainer.
 */
public record OrchestratorConfig(
    @Doc("Generate rollouts up to this step") @Min(1) int maxSteps,
    @Doc("Seed of problem sampling and of inference's sampling") @Min(0) long seed,
    @Doc("Run directory shared with the trainer and inference") String outputDir,
    @Doc("How many steps rollouts may run ahead of the trainer (0 = on-policy)") @Min(0) @Max(64)
        int asyncLevel,
    @Doc("Rollouts per step (problems x rollouts-per-problem)") @Min(1) @Max(65536) int batchSize,
    @Doc("Completions per problem (the group of the group-relative advantage)") @Min(1) @Max(1024)
        int rolloutsPerProblem,
    @Doc("Longest wait, in seconds, for the trainer's weights of a step")
        @Min(value = 0, exclusive = true)
        double waitTimeout,
    @Doc("Reverse-text problems") TaskConfig task,
    @Doc("Sampling parameters sent to inference") SamplingConfig sampling,
    @Doc("The inference server") ClientConfig client,
    @Doc("Logging") LogConfig log,
    @Doc("Checkpointing") CkptConfig ckpt,
    @Doc(
            "A Hugging Face model directory whose tokenizer.json (ChatML template) encodes prompts"
                + " and decodes completions (the model.hf of trainer and inference); unset: the"
                + " byte-level model's")
        String tokenizer,
    @Doc("Prometheus /metrics") MetricsConfig metrics) {

  public OrchestratorConfig {
    if (batchSize % rolloutsPerProblem != 0) {
      throw new IllegalArgumentException(
          "batch-size ("
              + batchSize
              + ") must be a multiple of rollouts-per-problem ("
              + rolloutsPerProblem
              + ")");
    }
  }

  public int problemsPerStep() {
    return batchSize / rolloutsPerProblem;
  }

  public static OrchestratorConfig defaults() {
    return new OrchestratorConfig(
        20,
        42,
        ".",
        1,
        64,
        8,
        600,
        TaskConfig.defaults(),
        SamplingConfig.defaults(),
        ClientConfig.defaults(),
        LogConfig.defaults(),
        null,
        null,
        MetricsConfig.defaults());
  }
}
