package dev.stepwise.runtime.cli;

import dev.stepwise.runtime.config.OrchestratorConfig;
import dev.stepwise.runtime.orchestrator.InferenceClient;
import dev.stepwise.runtime.orchestrator.Orchestrator;
import dev.stepwise.runtime.util.StopSignal;
import java.io.PrintStream;
import java.time.Duration;
import java.util.List;

/** {@code stepwise orchestrator}: the RL orchestrator role. */
final class OrchestratorCommand {

  private OrchestratorCommand() {}

  static int run(List<String> args, PrintStream out) {
    var config =
        Commands.parse(
            OrchestratorConfig.class,
            args,
            out,
            "usage: stepwise orchestrator [@ orch.toml ...] [--key value ...] [--dry-run]\n\n",
            OrchestratorConfig::log);
    if (config == null) {
      return 0;
    }
    var client =
        new InferenceClient(
            config.client().baseUrl(),
            Duration.ofMillis((long) (config.client().timeout() * 1000)));
    new Orchestrator(config, client).stopOn(StopSignal.forRole(config.ckpt())).run();
    return 0;
  }
}
