package dev.stepwise.runtime.cli;

import dev.stepwise.runtime.config.CommandLine;
import dev.stepwise.runtime.config.InferenceConfig;
import dev.stepwise.runtime.config.TomlWriter;
import dev.stepwise.runtime.inference.InferenceServer;
import dev.stepwise.runtime.log.Console;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/** {@code stepwise inference}: serve the policy until the process is stopped. */
final class InferenceCommand {

  private InferenceCommand() {}

  static int run(List<String> args, PrintStream out) {
    var parsed = CommandLine.parse(InferenceConfig.class, args);
    if (parsed.help()) {
      out.println("usage: stepwise inference [@ inference.toml ...] [--key value ...]");
      out.println();
      out.print(CommandLine.help(InferenceConfig.class));
      return 0;
    }
    if (parsed.dryRun()) {
      out.print(TomlWriter.write(parsed.config()));
      return 0;
    }
    Console.configure(parsed.config().log());
    var server = new InferenceServer(parsed.config());
    try {
      server.start();
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot listen on port " + parsed.config().server().port() + ": " + e.getMessage(), e);
    }
    var stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  server.close();
                  stopped.countDown();
                }));
    try {
      stopped.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return 0;
  }
}
