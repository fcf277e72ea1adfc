package dev.stepwise.runtime.cli;

import dev.stepwise.runtime.checkpoint.CheckpointException;
import dev.stepwise.runtime.config.ConfigException;
import dev.stepwise.runtime.model.ModelException;
import dev.stepwise.runtime.orchestrator.InferenceClient;
import dev.stepwise.runtime.parallel.PeerLostException;
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
        checkpoint     checkpoint delete --output-dir DIR --step N: delete one checkpoint's data;
                       checkpoint export --format hf STEP_DIR OUT: a Hugging Face model directory
        rl             RL: starts trainer, orchestrator and inference as child processes
        trainer        the RL trainer role (reads rollouts/, publishes weights/)
        orchestrator   the RL orchestrator role (rollouts from inference, rewards, advantages)
        inference      the stateless OpenAI-compatible inference server
        plot           plot <run dir> [--output file.png]: loss/reward over steps, checkpoints marked

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
        case "sft" -> SftCommand.run(rest, out, err);
        case "bench" -> BenchCommand.run(rest, out);
        case "checkpoint" -> CheckpointCommand.run(rest, out);
        case "rl" -> RlCommand.run(rest, out, err);
        case "trainer" -> TrainerCommand.run(rest, out, err);
        case "orchestrator" -> OrchestratorCommand.run(rest, out);
        case "inference" -> InferenceCommand.run(rest, out);
        case "plot" -> PlotCommand.run(rest, out, err);
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
    } catch (CheckpointException
        | ModelException
        | PeerLostException
        | InferenceClient.InferenceException
        | java.io.UncheckedIOException e) {
      err.println("error: " + e.getMessage());
      return 1;
    }
  }
}
