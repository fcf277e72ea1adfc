package dev.stepwise.runtime.cli;

import dev.stepwise.runtime.checkpoint.CheckpointAbortedException;
import dev.stepwise.runtime.checkpoint.CheckpointWriter;
import dev.stepwise.runtime.config.ConfigException;
import dev.stepwise.runtime.config.SftConfig;
import dev.stepwise.runtime.parallel.DistEnv;
import dev.stepwise.runtime.parallel.Launcher;
import dev.stepwise.runtime.parallel.ProcessGroup;
import dev.stepwise.runtime.trainer.SftTrainer;
import dev.stepwise.runtime.util.StopSignal;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code stepwise sft}: parse and validate the config, then train, as one rank of the job the
 * environment describes; {@code --nproc N} instead starts N local ranks, like torchrun.
 */
final class SftCommand {

  private static final Logger LOG = LoggerFactory.getLogger(SftCommand.class);

  private static final String USAGE =
      """
      usage: stepwise sft [@ config.toml ...] [--key value ...] [--dry-run] [--nproc N]

      --nproc N starts N data-parallel ranks on this machine (like torchrun).
      TOML files merge left to right; flags override them. Keys (TOML = flag):
      """;

  private SftCommand() {}

  static int run(List<String> args, PrintStream out) {
    var rest = new ArrayList<>(args);
    var nproc = Launch.takeNproc(rest);
    var config = Commands.parse(SftConfig.class, rest, out, USAGE, SftConfig::log);
    if (config == null) {
      return 0;
    }
    if (nproc > 0) {
      return Launcher.launch(nproc, "sft", rest);
    }
    var env = DistEnv.fromEnvironment();
    var collectives = ProcessGroup.Collectives.forDevice(config.device());
    var timeout = Duration.ofSeconds(config.dist().timeoutSeconds());
    try (var group = ProcessGroup.join(env, timeout, collectives)) {
      new SftTrainer(config, CheckpointWriter.FileListener.NONE, group)
          .stopOn(StopSignal.forRole(config.ckpt()))
          .run();
    } catch (CheckpointAbortedException e) {
      LOG.error("error: " + e.getMessage());
      return StopSignal.ABORTED_EXIT;
    }
    return 0;
  }

  /** The launcher flag, which is not part of any config. */
  static final class Launch {

    private Launch() {}

    /** Removes {@code --nproc N} from {@code args}; returns N, or 0 when absent. */
    static int takeNproc(List<String> args) {
      var at = args.indexOf("--nproc");
      if (at < 0) {
        return 0;
      }
      if (at + 1 >= args.size()) {
        throw new ConfigException("--nproc: expected a number of ranks");
      }
      var raw = args.get(at + 1);
      int n;
      try {
        n = Integer.parseInt(raw);
      } catch (NumberFormatException e) {
        throw new ConfigException("--nproc: '" + raw + "' is not a number of ranks");
      }
      if (n < 1 || n > 256) {
        throw new ConfigException("--nproc: " + n + " is out of range (1..256)");
      }
      args.remove(at + 1);
      args.remove(at);
      return n;
    }
  }
}
