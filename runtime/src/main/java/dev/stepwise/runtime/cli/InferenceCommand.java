package dev.stepwise.runtime.cli;

import dev.stepwise.runtime.config.InferenceConfig;
import dev.stepwise.runtime.inference.InferenceServer;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/** {@code stepwise inference}: serve the policy until the process is stopped. */
final class InferenceCommand {

  private InferenceCommand() {}

  static int run(List<String> args, PrintStream out) {
    var config =
        Commands.parse(
            InferenceConfig.class,
            args,
            out,
            "usage: stepwise inference [@ inference.toml ...] [--key value ...]\n\n",
            InferenceConfig::log);
    if (config == null) {
      return 0;
    }
    var server = new InferenceServer(config);
    try {
      server.start();
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot listen on port " + config.server().port() + ": " + e.getMessage(), e);
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
