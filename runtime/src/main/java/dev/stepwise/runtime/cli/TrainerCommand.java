package dev.stepwise.runtime.cli;

import dev.stepwise.runtime.checkpoint.CheckpointAbortedException;
import dev.stepwise.runtime.config.RlTrainerConfig;
import dev.stepwise.runtime.parallel.DistEnv;
import dev.stepwise.runtime.parallel.Launcher;
import dev.stepwise.runtime.parallel.ProcessGroup;
import dev.stepwise.runtime.rl.RlTrainer;
import dev.stepwise.runtime.util.StopSignal;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code stepwise trainer}: the RL trainer role, as one rank of the job the environment describes;
 * {@code --nproc N} instead starts N local ranks, like torchrun (and like {@code sft --nproc}).
 */
final class TrainerCommand {

  private static final Logger LOG = LoggerFactory.getLogger(TrainerCommand.class);

  private static final String USAGE =
      """
      usage: stepwise trainer [@ train.toml ...] [--key value ...] [--dry-run] [--nproc N]

      --nproc N starts N data-parallel ranks on this machine (like torchrun).
      """;

  private TrainerCommand() {}

  static int run(List<String> args, PrintStream out) {
    var rest = new ArrayList<>(args);
    var nproc = SftCommand.Launch.takeNproc(rest);
    var config = Commands.parse(RlTrainerConfig.class, rest, out, USAGE, RlTrainerConfig::log);
    if (config == null) {
      return 0;
    }
    if (nproc > 0) {
      return Launcher.launch(nproc, "trainer", rest);
    }
    var env = DistEnv.fromEnvironment();
    var collectives = ProcessGroup.Collectives.forDevice(config.device());
    // Rank 0 alone may wait up to wait-timeout for the orchestrator's part of a checkpoint while
    // its peers already wait in the next all-reduce: the group must not give up on it sooner.
    var timeout =
        Duration.ofSeconds(
            Math.max(config.dist().timeoutSeconds(), (long) Math.ceil(config.waitTimeout())));
    try (var group = ProcessGroup.join(env, timeout, collectives)) {
      new RlTrainer(config, group).stopOn(StopSignal.forRole(config.ckpt())).run();
    } catch (CheckpointAbortedException e) {
      LOG.error("error: " + e.getMessage());
      return StopSignal.ABORTED_EXIT;
    }
    return 0;
  }
}
