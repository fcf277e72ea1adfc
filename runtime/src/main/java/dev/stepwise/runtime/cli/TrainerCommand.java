package dev.stepwise.runtime.cli;

import dev.stepwise.runtime.config.CommandLine;
import dev.stepwise.runtime.config.RlTrainerConfig;
import dev.stepwise.runtime.config.TomlWriter;
import dev.stepwise.runtime.rl.RlTrainer;
import java.io.PrintStream;
import java.util.List;

/** {@code stepwise trainer}: the RL trainer role. */
final class TrainerCommand {

  private TrainerCommand() {}

  static int run(List<String> args, PrintStream out) {
    var parsed = CommandLine.parse(RlTrainerConfig.class, args);
    if (parsed.help()) {
      out.println("usage: stepwise trainer [@ train.toml ...] [--key value ...] [--dry-run]");
      out.println();
      out.print(CommandLine.help(RlTrainerConfig.class));
      return 0;
    }
    if (parsed.dryRun()) {
      out.print(TomlWriter.write(parsed.config()));
      return 0;
    }
    new RlTrainer(parsed.config(), out).run();
    return 0;
  }
}
