package dev.stepwise.runtime.cli;

import dev.stepwise.runtime.checkpoint.CheckpointStore;
import dev.stepwise.runtime.checkpoint.RunLayout;
import dev.stepwise.runtime.config.ConfigException;
import dev.stepwise.runtime.model.HfExport;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;

/**
 * {@code stepwise checkpoint delete --output-dir DIR --step N [--timeline T]}: deletes one
 * checkpoint's data (the operator's cleanup Job runs it when a Checkpoint resource is deleted).
 * With {@code --timeline}, a checkpoint that another timeline has since rewritten at that step is
 * left alone; so is a step directory without a manifest (possibly a save in flight).
 *
 * <p>{@code stepwise checkpoint export --format hf STEP_DIR OUT [--model DIR]}: writes the model of
 * a complete checkpoint as a Hugging Face model directory ({@link HfExport}).
 */
final class CheckpointCommand {

  static final String USAGE =
      "usage: stepwise checkpoint delete --output-dir DIR --step N [--timeline T]"
          + " [--checkpoints-dir checkpoints]\n"
          + "       stepwise checkpoint export --format hf STEP_DIR OUT [--model HF_DIR]"
          + " [--max-shard-bytes N]";

  private CheckpointCommand() {}

  static int run(List<String> args, PrintStream out) {
    if (args.isEmpty() || args.contains("--help") || args.contains("-h")) {
      out.println(USAGE);
      return args.isEmpty() ? Main.USAGE : 0;
    }
    if (args.get(0).equals("export")) {
      return export(args.subList(1, args.size()), out);
    }
    if (!args.get(0).equals("delete")) {
      throw new ConfigException(
          List.of("checkpoint: unknown action '" + args.get(0) + "'; " + USAGE));
    }
    String outputDir = ".";
    String checkpointsDir = RunLayout.DEFAULT_CHECKPOINTS;
    Long step = null;
    var timeline = OptionalLong.empty();
    for (var i = 1; i < args.size(); i++) {
      var flag = args.get(i);
      if (i + 1 >= args.size()) {
        throw new ConfigException(List.of(flag + ": expected a value; " + USAGE));
      }
      var value = args.get(++i);
      switch (flag) {
        case "--output-dir" -> outputDir = value;
        case "--checkpoints-dir" -> checkpointsDir = value;
        case "--step" -> step = number(flag, value);
        case "--timeline" -> timeline = OptionalLong.of(number(flag, value));
        default -> throw new ConfigException(List.of(flag + ": unknown flag; " + USAGE));
      }
    }
    if (step == null) {
      throw new ConfigException(List.of("--step: required; " + USAGE));
    }
    var layout = new RunLayout(Path.of(outputDir), checkpointsDir);
    var result = new CheckpointStore(layout).deleteCheckpoint(step, timeline);
    var dir = layout.stepDir(step);
    out.println(
        switch (result) {
          case DELETED -> "deleted checkpoint " + dir;
          case ABSENT -> "no checkpoint at " + dir + ": nothing to delete";
          case INCOMPLETE ->
              dir + " has no complete manifest (a save may be in flight): left alone";
          case OTHER_TIMELINE ->
              dir
                  + " now holds a checkpoint of another timeline than "
                  + timeline.getAsLong()
                  + ": left alone";
        });
    return 0;
  }

  private static int export(List<String> args, PrintStream out) {
    String format = null;
    Path model = null;
    var maxShard = HfExport.DEFAULT_MAX_SHARD_BYTES;
    var positional = new ArrayList<String>();
    for (var i = 0; i < args.size(); i++) {
      var arg = args.get(i);
      if (!arg.startsWith("--")) {
        positional.add(arg);
        continue;
      }
      if (i + 1 >= args.size()) {
        throw new ConfigException(List.of(arg + ": expected a value; " + USAGE));
      }
      var value = args.get(++i);
      switch (arg) {
        case "--format" -> format = value;
        case "--model" -> model = Path.of(value);
        case "--max-shard-bytes" -> maxShard = Math.max(1, number(arg, value));
        default -> throw new ConfigException(List.of(arg + ": unknown flag; " + USAGE));
      }
    }
    if (!"hf".equals(format)) {
      throw new ConfigException(
          List.of(
              "--format: expected 'hf', got "
                  + (format == null ? "nothing" : "'" + format + "'")
                  + "; "
                  + USAGE));
    }
    if (positional.size() != 2) {
      throw new ConfigException(List.of("export: expected STEP_DIR and OUT; " + USAGE));
    }
    var result =
        HfExport.export(Path.of(positional.get(0)), Path.of(positional.get(1)), model, maxShard);
    out.printf(
        "exported %s (%s, %d tensors, %,d bytes) to %s%n",
        positional.get(0),
        result.config().modelType(),
        result.tensors(),
        result.bytes(),
        result.out());
    return 0;
  }

  private static long number(String flag, String value) {
    try {
      var n = Long.parseLong(value);
      if (n >= 0) {
        return n;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new ConfigException(List.of(flag + ": expected an integer >= 0, got '" + value + "'"));
  }
}
