package dev.stepwise.runtime.cli;

import dev.stepwise.runtime.checkpoint.CheckpointException;
import dev.stepwise.runtime.config.ConfigException;
import dev.stepwise.runtime.log.Console;
import dev.stepwise.runtime.log.LogFormat;
import dev.stepwise.runtime.model.ModelException;
import dev.stepwise.runtime.orchestrator.InferenceClient;
import dev.stepwise.runtime.parallel.PeerLostException;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/** {@code stepwise <command> ...}: the runtime's one entry point, locally and in pods. */
public final class Main {

  static {
    // Unless told otherwise, JavaCPP reads the process's resident size at every native allocation
    // (every tensor an op returns) to decide whether to force a garbage collection: about half of
    // the Java side of a small op (runtime/src/test/bench/OpOverhead.java), and it made a GPU
    // server's decoding, which is bound by such launches, half as fast. The runtime frees tensors
    // through PointerScopes, not through the garbage collector, so the check buys nothing.
    if (System.getProperty("org.bytedeco.javacpp.maxPhysicalBytes") == null) {
      System.setProperty("org.bytedeco.javacpp.maxPhysicalBytes", "0");
    }
  }

  /** Exit status for bad configuration or usage. */
  public static final int USAGE = 2;

  private static final Logger LOG = LoggerFactory.getLogger(Main.class);

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
    try (var console = Console.open(out, err, context(command))) {
      logFlags(rest);
      return dispatch(command, rest, out, err);
    }
  }

  private static int dispatch(String command, List<String> rest, PrintStream out, PrintStream err) {
    try {
      return switch (command) {
        case "sft" -> SftCommand.run(rest, out);
        case "bench" -> BenchCommand.run(rest, out);
        case "checkpoint" -> CheckpointCommand.run(rest, out);
        case "rl" -> RlCommand.run(rest, out);
        case "trainer" -> TrainerCommand.run(rest, out);
        case "orchestrator" -> OrchestratorCommand.run(rest, out);
        case "inference" -> InferenceCommand.run(rest, out);
        case "plot" -> PlotCommand.run(rest, out);
        default -> {
          LOG.error("error: unknown command '" + command + "'");
          err.print(USAGE_TEXT);
          yield USAGE;
        }
      };
    } catch (ConfigException e) {
      for (var problem : e.problems()) {
        LOG.error("error: " + problem);
      }
      return USAGE;
    } catch (CheckpointException
        | ModelException
        | PeerLostException
        | InferenceClient.InferenceException
        | java.io.UncheckedIOException e) {
      LOG.error("error: " + e.getMessage());
      return 1;
    }
  }

  /**
   * What each JSON log line of this process says about it: its role, and its rank if it has one.
   */
  private static Map<String, Object> context(String command) {
    var context = new LinkedHashMap<String, Object>();
    context.put("role", command);
    var rank = System.getenv("RANK");
    if (rank != null && rank.strip().matches("\\d+")) {
      context.put("rank", Integer.parseInt(rank.strip()));
    }
    return context;
  }

  /**
   * Applies {@code --log.format} and {@code --log.level} before the command parses its config, so
   * that a bad config is reported in that format too; the config's parser validates them.
   */
  private static void logFlags(List<String> args) {
    var format = Console.format();
    var level = Level.INFO;
    for (var i = 0; i < args.size(); i++) {
      var arg = args.get(i);
      var eq = arg.indexOf('=');
      var name = eq < 0 ? arg : arg.substring(0, eq);
      String value = eq < 0 ? (i + 1 < args.size() ? args.get(i + 1) : "") : arg.substring(eq + 1);
      value = value.toUpperCase(Locale.ROOT);
      try {
        if (name.equals("--log.format")) {
          format = LogFormat.valueOf(value);
        } else if (name.equals("--log.level")) {
          level = Level.valueOf(value);
        }
      } catch (IllegalArgumentException badValue) {
        // the command's parser names the flag
      }
    }
    Console.configure(format, level);
  }
}
