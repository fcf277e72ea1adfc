package dev.stepwise.runtime.cli;

import dev.stepwise.runtime.config.CommandLine;
import dev.stepwise.runtime.config.OrchestratorConfig;
import dev.stepwise.runtime.config.TomlWriter;
import dev.stepwise.runtime.log.Console;
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
    var parsed = CommandLine.parse(OrchestratorConfig.class, args);
    if (parsed.help()) {
      out.println("usage: stepwise orchestrator [@ orch.toml ...] [--key value ...] [--dry-run]");
      out.println();
      out.print(CommandLine.help(OrchestratorConfig.class));
      return 0;
    }
    if (parsed.dryRun()) {
      out.print(TomlWriter.write(parsed.config()));
      return 0;
    }
    var config = parsed.config();
    Console.configure(config.log());
    var client =
        new InferenceClient(
            config.client().baseUrl(),
            Duration.ofMillis((long) (config.client().timeout() * 1000)));
    new Orchestrator(config, client).stopOn(StopSignal.forRole(config.ckpt())).run();
    return 0;
  }
}
