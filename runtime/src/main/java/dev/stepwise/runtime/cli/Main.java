package dev.stepwise.runtime.cli;

import dev.stepwise.runtime.checkpoint.CheckpointException;
import dev.stepwise.runtime.config.ConfigException;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;

/** {@code stepwise <command> ...}: the runtime's one entry point, locally and in pods. */
public final class Main {

  /** Exit status for bad configuration or usage. */
  public static final int USAGE = 2;

  private static final String USAGE_TEXT =
      """
      usage: stepwise <command> [@ config.toml ...] [--key value ...]

      commands:
        sft            supervised fine-tuning (reverse-text on a small transformer)
        bench          checkpoint throughput and async-save stall, measured against baselines
        rl, trainer, orchestrator, inference   (not in this build yet)

      Run 'stepwise <command> --help' for its options.
      """;

  private Main() {}

  public static void main(String[] args) {
    System.exit(run(Arrays.asList(args), System.out, System.err));
  }

  public static int run(List<String> args, PrintStream out, PrintStream err) {
    if (args.isEmpty() || args.get(0).equals("--help") || args.get(0).equals("-h")) {
      (args.isEmpty() ? err : out).print(USAGE_TEXT);
      return args.isEmpty() ? USAGE : 0;
    }
    var command = args.get(0);
    var rest = args.subList(1, args.size());
    try {
      return switch (command) {
        case "sft" -> SftCommand.run(rest, out);
        case "bench" -> BenchCommand.run(rest, out);
        case "rl", "trainer", "orchestrator", "inference" -> {
          err.println("error: '" + command + "' is not implemented in this build yet");
          yield USAGE;
        }
        default -> {
          err.println("error: unknown command '" + command + "'");
          err.print(USAGE_TEXT);
          yield USAGE;
        }
      };
    } catch (ConfigException e) {
      for (var problem : e.problems()) {
        err.println("error: " + problem);
      }
      return USAGE;
    } catch (CheckpointException e) {
      err.println("error: " + e.getMessage());
      return 1;
    }
  }
}
