package dev.stepwise.runtime.metrics;

import dev.stepwise.runtime.config.MetricsConfig;

/**
 * The orchestrator's Prometheus {@code /metrics} ({@code role="orchestrator"}), served with {@code
 * --metrics.port}: the last step whose rollouts were published, their mean reward and the
 * generation speed. Without a port it only keeps the values.
 */
public final class OrchestratorMetrics implements AutoCloseable {

  public static final String ROLE = "orchestrator";

  private final PrometheusRegistry registry = new PrometheusRegistry(ROLE);
  private final PrometheusRegistry.Metric step =
      registry.gauge(TrainerMetrics.STEP, "Last step whose rollouts were published.");
  private final PrometheusRegistry.Metric meanReward =
      registry.gauge(TrainerMetrics.MEAN_REWARD, "Mean reward of the last step's rollouts.");
  private final PrometheusRegistry.Metric tokensPerSecond =
      registry.gauge(
          TrainerMetrics.TOKENS_PER_SECOND, "Completion tokens per second of the last step.");
  private final MetricsServer server;

  private OrchestratorMetrics(int port) {
    this.server = port > 0 ? MetricsServer.start(port, registry, "--metrics.port") : null;
  }

  public static OrchestratorMetrics open(MetricsConfig config) {
    return new OrchestratorMetrics(config.port());
  }

  /** Records a published step. */
  public void step(long n, double reward, double completionTokensPerSecond) {
    step.set(n);
    if (Double.isFinite(reward)) {
      meanReward.set(reward);
    }
    if (Double.isFinite(completionTokensPerSecond)) {
      tokensPerSecond.set(completionTokensPerSecond);
    }
  }

  public PrometheusRegistry registry() {
    return registry;
  }

  /** The port {@code /metrics} is served on, or -1. */
  public int port() {
    return server == null ? -1 : server.port();
  }

  @Override
  public void close() {
    if (server != null) {
      server.close();
    }
  }
}
