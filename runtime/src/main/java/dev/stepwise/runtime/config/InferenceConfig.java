package dev.stepwise.runtime.config;

/**
 * Configuration of {@code stepwise inference}: a stateless server holding the policy; it loads
 * weights from the run directory when the orchestrator asks.
 */
public record InferenceConfig(
    @Doc("Seed of the placeholder weights served before the first update") @Min(0) long seed,
    @Doc("cpu or cuda") Device device,
    @Doc("Run directory whose weights/ it loads") String outputDir,
    @Doc("Intra-op threads of torch and BLAS") @Min(1) @Max(256) int threads,
    @Doc("Model shape (must match the trainer's)") ModelConfig model,
    @Doc("HTTP server") ServerConfig server,
    @Doc("Logging") LogConfig log) {

  public static InferenceConfig defaults() {
    return new InferenceConfig(
        0,
        Device.CPU,
        ".",
        1,
        ModelConfig.defaults(),
        ServerConfig.defaults(),
        LogConfig.defaults());
  }
}
