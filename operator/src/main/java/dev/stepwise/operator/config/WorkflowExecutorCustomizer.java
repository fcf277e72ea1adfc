package dev.stepwise.operator.config;

import io.javaoperatorsdk.operator.api.config.ConfigurationServiceOverrider;
import io.quarkiverse.operatorsdk.runtime.api.ConfigurationServiceCustomizer;
import io.quarkus.arc.Unremovable;
import jakarta.inject.Singleton;
import java.util.Optional;
import java.util.function.Consumer;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * Gives Java Operator SDK the {@link OldestRunFirstExecutor} for its workflows, with as many
 * threads as {@code quarkus.operator-sdk.concurrent-workflow-threads} says (Java Operator SDK's
 * default, 50, when unset).
 */
@Singleton
@Unremovable
public class WorkflowExecutorCustomizer implements ConfigurationServiceCustomizer {

  private static final Logger LOG = Logger.getLogger(WorkflowExecutorCustomizer.class);

  /** Java Operator SDK's default number of workflow threads. */
  private static final int DEFAULT_THREADS = 50;

  private final int threads;

  WorkflowExecutorCustomizer(
      @ConfigProperty(name = "quarkus.operator-sdk.concurrent-workflow-threads")
          Optional<Integer> threads) {
    this.threads = threads.orElse(DEFAULT_THREADS);
  }

  @Override
  public Consumer<ConfigurationServiceOverrider> overrider() {
    LOG.infof("workflows: %d threads, the oldest run's steps first", threads);
    return overrider -> overrider.withWorkflowExecutorService(new OldestRunFirstExecutor(threads));
  }
}
