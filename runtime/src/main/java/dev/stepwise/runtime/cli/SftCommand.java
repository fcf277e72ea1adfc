package dev.stepwise.runtime.cli;

import dev.stepwise.runtime.config.CommandLine;
import dev.stepwise.runtime.config.SftConfig;
import dev.stepwise.runtime.config.TomlWriter;
import dev.stepwise.runtime.trainer.SftTrainer;
import java.io.PrintStream;
import java.util.List;

/** {@code stepwise sft}: parse and validate the config, then train. */
final class SftCommand {

  private SftCommand() {}

  static int run(List<String> args, PrintStream out) {
    var parsed = CommandLine.parse(SftConfig.class, args);
    if (parsed.help()) {
      out.println("usage: stepwise sft [@ config.toml ...] [--key value ...] [--dry-run]");
      out.println();
      out.println("TOML files merge left to right; flags override them. Keys (TOML = flag):");
      out.print(CommandLine.help(SftConfig.class));
      return 0;
    }
    if (parsed.dryRun()) {
      out.print(TomlWriter.write(parsed.config()));
      return 0;
    }
    new SftTrainer(parsed.config(), out).run();
    return 0;
  }
}
