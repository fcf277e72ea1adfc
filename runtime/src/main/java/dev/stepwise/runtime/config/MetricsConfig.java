package dev.stepwise.runtime.config;

/** Prometheus metrics of this role. */
public record MetricsConfig(
    @Doc("Serve Prometheus /metrics on 0.0.0.0:PORT (0 = off; the trainer's rank 0 only)")
        @Min(0)
        @Max(65535)
        int port) {

  public static MetricsConfig defaults() {
    return new MetricsConfig(0);
  }
}
