package dev.stepwise.runtime.cli;

import dev.stepwise.runtime.bench.CheckpointBenchmark;
import dev.stepwise.runtime.config.BenchConfig;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.util.List;

/** {@code stepwise bench}: checkpoint I/O and async-save stall against same-run baselines. */
final class BenchCommand {

  private BenchCommand() {}

  static int run(List<String> args, PrintStream out) {
    var config =
        Commands.parse(
            BenchConfig.class,
            args,
            out,
            "usage: stepwise bench [@ config.toml ...] [--key value ...]\n",
            BenchConfig::log);
    if (config == null) {
      return 0;
    }
    try {
      new CheckpointBenchmark(config, out).run();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return 0;
  }
}
