package dev.stepwise.runtime.cli;

import dev.stepwise.runtime.config.CommandLine;
import dev.stepwise.runtime.config.LogConfig;
import dev.stepwise.runtime.config.TomlWriter;
import dev.stepwise.runtime.log.Console;
import java.io.PrintStream;
import java.util.List;
import java.util.function.Function;

/** What every config-driven command does with its arguments before it does its work. */
final class Commands {

  private Commands() {}

  /**
   * Parses {@code args} into a {@code type} config: for {@code --help} prints {@code usage} then
   * the options, for {@code --dry-run} the resolved TOML, and returns null (the command exits 0);
   * else returns the config with its {@code log} settings ({@code --log.format}, {@code
   * --log.level}) in effect. Bare arguments set the keys {@code positional} names, in order.
   */
  static <T extends Record> T parse(
      Class<T> type,
      List<String> args,
      List<String> positional,
      PrintStream out,
      String usage,
      Function<T, LogConfig> log) {
    var parsed = CommandLine.parse(type, args, positional);
    if (parsed.help()) {
      out.print(usage);
      out.print(CommandLine.help(type));
      return null;
    }
    if (parsed.dryRun()) {
      out.print(TomlWriter.write(parsed.config()));
      return null;
    }
    var config = parsed.config();
    Console.configure(log.apply(config));
    return config;
  }

  /** As above, with no bare arguments. */
  static <T extends Record> T parse(
      Class<T> type, List<String> args, PrintStream out, String usage, Function<T, LogConfig> log) {
    return parse(type, args, List.of(), out, usage, log);
  }
}
