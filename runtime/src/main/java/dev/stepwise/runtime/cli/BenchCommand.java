package dev.stepwise.runtime.cli;

import dev.stepwise.runtime.bench.CheckpointBenchmark;
import dev.stepwise.runtime.config.BenchConfig;
import dev.stepwise.runtime.config.CommandLine;
import dev.stepwise.runtime.config.TomlWriter;
import dev.stepwise.runtime.log.Console;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.util.List;

/** {@code stepwise bench}: checkpoint I/O and async-save stall against same-run baselines. */
final class BenchCommand {

  private BenchCommand() {}

  static int run(List<String> args, PrintStream out) {
    var parsed = CommandLine.parse(BenchConfig.class, args);
    if (parsed.help()) {
      out.println("usage: stepwise bench [@ config.toml ...] [--key value ...]");
      out.print(CommandLine.help(BenchConfig.class));
      return 0;
    }
    if (parsed.dryRun()) {
      out.print(TomlWriter.write(parsed.config()));
      return 0;
    }
    Console.configure(parsed.config().log());
    try {
      new CheckpointBenchmark(parsed.config(), out).run();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return 0;
  }
}
