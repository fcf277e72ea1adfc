package dev.stepwise.runtime.cli;

import dev.stepwise.runtime.checkpoint.CheckpointStore;
import dev.stepwise.runtime.checkpoint.RunLayout;
import dev.stepwise.runtime.config.CheckpointDeleteConfig;
import dev.stepwise.runtime.config.CheckpointExportConfig;
import dev.stepwise.runtime.config.ConfigException;
import dev.stepwise.runtime.model.HfExport;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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

  private static final Logger LOG = LoggerFactory.getLogger(CheckpointCommand.class);

  private CheckpointCommand() {}

  static int run(List<String> args, PrintStream out) {
    if (args.isEmpty() || args.get(0).equals("--help") || args.get(0).equals("-h")) {
      out.println(USAGE);
      return args.isEmpty() ? Main.USAGE : 0;
    }
    var rest = args.subList(1, args.size());
    return switch (args.get(0)) {
      case "delete" -> delete(rest, out);
      case "export" -> export(rest, out);
      default ->
          throw new ConfigException(
              List.of("checkpoint: unknown action '" + args.get(0) + "'; " + USAGE));
    };
  }

  private static int delete(List<String> args, PrintStream out) {
    var config =
        Commands.parse(
            CheckpointDeleteConfig.class, args, out, USAGE + "\n\n", CheckpointDeleteConfig::log);
    if (config == null) {
      return 0;
    }
    if (config.step() == null) {
      throw new ConfigException(List.of("--step: required; " + USAGE));
    }
    long step = config.step();
    var timeline =
        config.timeline() == null ? OptionalLong.empty() : OptionalLong.of(config.timeline());
    var layout = new RunLayout(Path.of(config.outputDir()), config.checkpointsDir());
    var result = new CheckpointStore(layout).deleteCheckpoint(step, timeline);
    var dir = layout.stepDir(step);
    LOG.info(
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
    var config =
        Commands.parse(
            CheckpointExportConfig.class,
            args,
            List.of("step-dir", "out"),
            out,
            USAGE + "\n\n",
            CheckpointExportConfig::log);
    if (config == null) {
      return 0;
    }
    if (config.format() == null) {
      throw new ConfigException(List.of("--format: expected 'hf', got nothing; " + USAGE));
    }
    if (config.stepDir() == null || config.out() == null) {
      throw new ConfigException(List.of("export: expected STEP_DIR and OUT; " + USAGE));
    }
    var result =
        HfExport.export(
            Path.of(config.stepDir()),
            Path.of(config.out()),
            config.model() == null ? null : Path.of(config.model()),
            Math.max(1, config.maxShardBytes()));
    LOG.info(
        String.format(
            "exported %s (%s, %d tensors, %,d bytes) to %s",
            config.stepDir(),
            result.config().modelType(),
            result.tensors(),
            result.bytes(),
            result.out()));
    return 0;
  }
}
