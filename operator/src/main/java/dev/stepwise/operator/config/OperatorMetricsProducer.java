package dev.stepwise.operator.config;

import io.javaoperatorsdk.operator.api.monitoring.Metrics;
import io.javaoperatorsdk.operator.monitoring.micrometer.MicrometerMetricsV2;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.annotation.Priority;
import jakarta.enterprise.inject.Alternative;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

/**
 * JOSDK's reconcile metrics on the operator's Micrometer registry, served at {@code /q/metrics}
 * ({@code reconciliations_started_total} and the rest, tagged by controller only, so their number
 * does not grow with the runs). It replaces QOSDK's provider, whose {@code Metrics} bean is the
 * no-op one when the operator is configured before Micrometer binds it: nothing was published.
 */
@Singleton
public class OperatorMetricsProducer {

  @Produces
  @Singleton
  @Alternative
  @Priority(1)
  Metrics reconcileMetrics(MeterRegistry registry) {
    return MicrometerMetricsV2.newBuilder(registry).build();
  }
}
