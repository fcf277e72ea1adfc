package dev.stepwise.runtime.rl;

import dev.stepwise.runtime.checkpoint.AtomicFiles;
import dev.stepwise.runtime.checkpoint.CheckpointException;
import dev.stepwise.runtime.checkpoint.CheckpointParts;
import dev.stepwise.runtime.checkpoint.CheckpointWriter;
import dev.stepwise.runtime.checkpoint.PolicyWeights;
import dev.stepwise.runtime.checkpoint.PublishedDir;
import dev.stepwise.runtime.checkpoint.Rollouts;
import dev.stepwise.runtime.checkpoint.RunLayout;
import dev.stepwise.runtime.checkpoint.Timeline;
import dev.stepwise.runtime.config.RlTrainerConfig;
import dev.stepwise.runtime.config.TomlWriter;
import dev.stepwise.runtime.k8s.CheckpointReporter;
import dev.stepwise.runtime.metrics.TrainerMetrics;
import dev.stepwise.runtime.parallel.GradientSync;
import dev.stepwise.runtime.parallel.ProcessGroup;
import dev.stepwise.runtime.trainer.CheckpointSaver;
import dev.stepwise.runtime.trainer.HostBuffers;
import dev.stepwise.runtime.trainer.Progress;
import dev.stepwise.runtime.trainer.StopAgreement;
import dev.stepwise.runtime.trainer.TrainerCheckpoint;
import dev.stepwise.runtime.trainer.TrainerSetup;
import dev.stepwise.runtime.util.Polling;
import dev.stepwise.runtime.util.StopSignal;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.helpers.NOPLogger;

/**
 * The RL trainer ({@code stepwise trainer}): for each step n, waits for {@code rollouts/step_n},
 * takes one clipped policy-gradient step, publishes {@code weights/step_n} for inference, and
 * checkpoints as SFT does. Its checkpoints also need the orchestrator's part of the step: it waits
 * for that part and then writes the manifest covering both. A fresh run first publishes its initial
 * weights as {@code weights/step_0}.
 *
 * <p>It keeps each step's rollouts until a complete checkpoint covers that step, so that when it is
 * restarted alone ({@code --ckpt.recover}, the orchestrator still running) it finds the batches of
 * the steps after its checkpoint again; weights it published before the restart (the same bytes)
 * are not published twice. Rank 0 in a pod reports each complete checkpoint as a {@code Checkpoint}
 * resource.
 *
 * <p>Data parallel over the ranks of a {@link ProcessGroup}, as SFT is: every rank reads the whole
 * step's rollouts and trains on its contiguous share of them ({@link RolloutBatch#share}), the
 * gradients are all-reduced weighted by completion tokens ({@link GradientSync}), so the update is
 * the one rank's update up to float summation order; checkpoints are sharded across the ranks. Only
 * rank 0 logs, publishes weights, completes and reports checkpoints and deletes rollouts.
 */
public final class RlTrainer {

  /** What a run reports. */
  public record Result(
      Progress progress, long resumedFrom, double firstReward, double lastReward) {}

  private static final Logger LOG = LoggerFactory.getLogger(RlTrainer.class);

  private final RlTrainerConfig config;
  private final Logger log;
  private final ProcessGroup group;
  private final int rank;
  private final int worldSize;
  private StopSignal stop = StopSignal.none();

  public RlTrainer(RlTrainerConfig config) {
    this(config, ProcessGroup.single());
  }

  /** One rank of a data-parallel trainer over {@code group}; ranks other than 0 log nothing. */
  public RlTrainer(RlTrainerConfig config, ProcessGroup group) {
    this.config = config;
    this.group = group;
    this.rank = group.rank();
    this.worldSize = group.worldSize();
    this.log = rank == 0 ? LOG : NOPLogger.NOP_LOGGER;
  }

  /**
   * Stops after the step in flight (or while waiting for rollouts) when {@code stop} fires, with
   * checkpointing on: the last trained step is saved as a complete checkpoint, its orchestrator
   * part taken from that step's rollouts, then {@link #run} returns.
   */
  public RlTrainer stopOn(StopSignal stop) {
    this.stop = stop;
    return this;
  }

  public Result run() {
    var wallStart = System.nanoTime();
    var setup = TrainerSetup.of(config);
    var configToml = TomlWriter.write(config);
    var ckpt = config.ckpt();
    var timeline = Timeline.of(ckpt, setup.store());
    var layout = setup.layout();
    var model = setup.model();
    var optimizer = setup.optimizer();
    var device = setup.device();
    var recovering = ckpt != null && ckpt.recover();
    var begun = setup.start(rank, worldSize, "trainer: ");
    var start = begun.resumedFrom();
    var startedFrom = start.orElse(0);
    var progress = begun.progress();
    if (begun.initialisedFrom() != null) {
      log.info(
          String.format(
              "trainer: initialised the policy from %s (weights only)", begun.initialisedFrom()));
    }
    log.info(
        String.format("trainer: %,d parameters | %s", model.parameterCount(), setup.describe()));
    if (group.distributed()) {
      log.info(
          String.format(
              "trainer: data parallel: %d ranks (%s), each trains on 1/%d of every step's rollouts",
              worldSize, group.collectives().label(), worldSize));
    }
    // A new run publishes everything beyond its start again; a recovering one keeps what its own
    // timeline published (the orchestrator may be reading it) and drops other timelines' weights.
    // Only rank 0 touches weights/ and rollouts/: the other ranks hold the same model.
    var weightsRoot = layout.weightsRoot();
    if (rank == 0) {
      var stale =
          PublishedDir.deleteStale(
              weightsRoot, layout::weightsDir, startedFrom, recovering, timeline);
      if (!stale.isEmpty()) {
        log.info("trainer: removed weights of steps " + stale + " (not of this timeline)");
      }
      if (start.isEmpty() || PublishedDir.marker(layout.weightsDir(startedFrom)).isEmpty()) {
        publish(layout, startedFrom, timeline, model.parameters());
      }
    }
    var reporter =
        ckpt == null || rank != 0
            ? Optional.<CheckpointReporter>empty()
            : CheckpointReporter.fromEnvironment(layout);
    // Rollouts of steps up to the newest complete checkpoint are no longer needed by a restart.
    var covered = new AtomicLong(startedFrom);

    var timeout = Duration.ofMillis((long) (config.waitTimeout() * 1000));
    var firstReward = Double.NaN;
    var lastReward = Double.NaN;
    try (var metrics =
            TrainerMetrics.open(
                rank, layout, config, progress.step(), start.isPresent() ? startedFrom : -1);
        var saver =
            ckpt == null
                ? null
                : new CheckpointSaver(
                        new CheckpointWriter(
                            layout,
                            CheckpointWriter.FileListener.NONE,
                            CheckpointParts.awaiting(
                                layout, RunLayout.ORCHESTRATOR, timeline, timeout)),
                        setup.store(),
                        ckpt,
                        start.isPresent() ? startedFrom : -1,
                        manifest -> {
                          covered.accumulateAndGet(manifest.step(), Math::max);
                          reporter.ifPresent(r -> r.accept(manifest));
                        },
                        group,
                        stop)
                    .observedBy(metrics)) {
      var agreement = new StopAgreement(saver == null ? StopSignal.none() : stop, group, device);
      byte[] lastPart = null;
      for (var step = startedFrom + 1; step <= config.maxSteps(); step++) {
        var waitStart = System.nanoTime();
        var awaited =
            awaitRollouts(layout, step, timeline, timeout, group.distributed() ? null : agreement);
        if (awaited == null) {
          // Stopped while waiting: the state is that of the previous step.
          var last = step - 1;
          agreement.checkNotAborted(last);
          if (last > startedFrom) { // else nothing was trained since the start: nothing to save
            preempt(
                saver,
                layout,
                timeline,
                last,
                lastPart,
                capture(setup, progress, configToml, last));
          }
          logStopped(last, layout);
          break;
        }
        var rollouts = awaited.rollouts();
        lastPart = awaited.orchestratorPart();
        var stepStart = System.nanoTime();
        var lr = setup.schedule().lr(step);
        double lossValue;
        double gradNorm;
        long tokens;
        PolicyGradientLoss.Value value;
        RolloutBatch batch;
        try (var scope = new PointerScope()) {
          batch = RolloutBatch.of(rollouts, device, rank, worldSize, setup.codec().pad());
          value =
              PolicyGradientLoss.compute(
                  model, batch, rollouts.temperature(), config.loss().clipEpsilon());
          value.loss().backward();
          var reduced =
              GradientSync.allReduce(
                  group,
                  model.parameters(),
                  value.loss().item_double(),
                  batch.lossTokens(),
                  batch.tokenCount(),
                  step);
          gradNorm = optimizer.clipGradNorm(config.optim().maxNorm());
          optimizer.step(lr);
          optimizer.zeroGrad();
          lossValue = reduced.loss();
          tokens = reduced.tokens();
        }
        progress = progress.advance(batch.samples() * worldSize, tokens);
        // Every rank has read this step's rollouts before the all-reduce above returned, so rank 0
        // may delete them now (once a checkpoint covers them).
        if (rank == 0) {
          if (!recovering
              || PublishedDir.usable(layout.weightsDir(step), step, timeline).isEmpty()) {
            publish(layout, step, timeline, model.parameters());
          }
          var consumed = step;
          var keepFrom = ckpt == null ? consumed : Math.min(consumed, covered.get() + 1);
          PublishedDir.deleteSteps(layout.rolloutsRoot(), n -> n < keepFrom);
        }
        var meanReward = meanReward(rollouts);
        if (Double.isNaN(firstReward)) {
          firstReward = meanReward;
        }
        lastReward = meanReward;
        var seconds = (System.nanoTime() - stepStart) / 1e9;
        if (step % config.log().interval() == 0 || step == config.maxSteps()) {
          var clipped = overAllRanks(value.clippedFraction(), batch.lossTokens(), device, step);
          log.atInfo()
              .addKeyValue("step", step)
              .addKeyValue("loss", lossValue)
              .addKeyValue("reward", meanReward)
              .log(
                  String.format(
                      "trainer step %d/%d | loss %.4f | reward %.4f | lr %.2e | grad-norm %.3f | clipped"
                          + " %.1f%% | off-policy %d | %,.0f tok/s | waited %.1f s",
                      step,
                      config.maxSteps(),
                      lossValue,
                      meanReward,
                      lr,
                      gradNorm,
                      100 * clipped,
                      step - 1 - rollouts.weightsStep(),
                      tokens / seconds,
                      (stepStart - waitStart) / 1e9));
        }
        metrics.step(
            TrainerMetrics.Step.of(step, progress, lossValue, lr, tokens, seconds)
                .withReward(meanReward));
        var capture = capture(setup, progress, configToml, step);
        if (saver != null && ckpt.due(step, config.maxSteps())) {
          saver.save(capture);
        }
        if (agreement.stopAfter(step)) {
          agreement.checkNotAborted(step);
          preempt(saver, layout, timeline, step, lastPart, capture);
          logStopped(step, layout);
          break;
        }
      }
    } finally {
      reporter.ifPresent(CheckpointReporter::close);
    }
    // Every rank's shards are in before anyone leaves; rank 0's store outlives the others.
    group.barrier("end of training");
    log.atInfo()
        .addKeyValue("step", progress.step())
        .log(
            String.format(
                "trainer done: step %d | %,d samples | %,d tokens | reward %.4f -> %.4f | wall %.1f s",
                progress.step(),
                progress.totalSamples(),
                progress.totalTokens(),
                firstReward,
                lastReward,
                (System.nanoTime() - wallStart) / 1e9));
    return new Result(progress, start.orElse(-1), firstReward, lastReward);
  }

  /** How a snapshot of the state after {@code step} is taken (into the saver's buffers). */
  private Function<HostBuffers, TrainerCheckpoint.Snapshot> capture(
      TrainerSetup setup, Progress progress, String configToml, long step) {
    var data =
        Map.<String, Object>of(
            "rollouts",
            "rollouts/step_<n> from the orchestrator; rank r of W trains on samples"
                + " [rB/W, (r+1)B/W)",
            "next_step",
            step + 1);
    return setup.capture(progress, data, configToml, rank, worldSize);
  }

  /**
   * The checkpoint a stop signal asks for, of {@code step}: unless the step was already saved, rank
   * 0 first writes the orchestrator's part of it from the step's rollouts ({@code part}, the bytes
   * the orchestrator would write), then every rank saves its shards and rank 0 completes the
   * manifest.
   */
  private void preempt(
      CheckpointSaver saver,
      RunLayout layout,
      Timeline timeline,
      long step,
      byte[] part,
      Function<HostBuffers, TrainerCheckpoint.Snapshot> capture) {
    if (saver.lastSaved() != step
        && rank == 0
        && CheckpointParts.marker(layout, step, RunLayout.ORCHESTRATOR, timeline).isEmpty()) {
      if (part == null) {
        log.warn(
            String.format(
                "trainer: warning: the rollouts of step %d carry no orchestrator part; waiting for"
                    + " the orchestrator to write it",
                step));
      } else {
        var files = new LinkedHashMap<String, AtomicFiles.Body>();
        files.put(RunLayout.PROGRESS, AtomicFiles.Body.of(part));
        try {
          CheckpointParts.write(layout, step, RunLayout.ORCHESTRATOR, timeline, files);
        } catch (IOException e) {
          throw new CheckpointException(
              "cannot write the orchestrator part of " + layout.stepDir(step) + ": " + e, e);
        }
      }
    }
    saver.savePreemption(capture);
  }

  private void logStopped(long step, RunLayout layout) {
    log.info("trainer: " + StopAgreement.stoppedMessage(stop, step, layout.stepDir(step)));
  }

  /**
   * A per-token fraction of this rank's share, over all ranks' completion tokens (one tiny
   * all-reduce; every rank logs the same steps, so all of them take part).
   */
  private double overAllRanks(double fraction, long lossTokens, Device device, long step) {
    if (!group.distributed()) {
      return fraction;
    }
    try (var scope = new PointerScope()) {
      var sums = torch.tensor((float) (fraction * lossTokens), (float) lossTokens);
      if (group.reducesOnDevice()) {
        sums = sums.to(device, torch.ScalarType.Float);
      }
      group.allReduceSum(sums, "clipped fraction at step " + step);
      var host = sums.cpu().contiguous();
      return host.get(0).item_float() / Math.max(1f, host.get(1).item_float());
    }
  }

  /** The mean reward of the whole step (every rank reads all of it). */
  private static double meanReward(Rollouts rollouts) {
    var sum = 0.0;
    for (var s : rollouts.samples()) {
      sum += s.reward();
    }
    return sum / Math.max(1, rollouts.samples().size());
  }

  private void publish(RunLayout layout, long step, Timeline timeline, Map<String, Tensor> params) {
    try {
      PolicyWeights.publish(layout, step, timeline, params);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot publish " + layout.weightsDir(step), e);
    }
  }

  /** A step's rollouts and the orchestrator's checkpoint part published with them (or null). */
  private record Awaited(Rollouts rollouts, byte[] orchestratorPart) {}

  /** The rollouts of {@code step}, or null when {@code agreement}'s stop fired while waiting. */
  private Awaited awaitRollouts(
      RunLayout layout, long step, Timeline timeline, Duration timeout, StopAgreement agreement) {
    var deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      var marker = PublishedDir.usable(layout.rolloutsDir(step), step, timeline);
      if (marker.isPresent()) {
        try {
          return new Awaited(
              Rollouts.read(layout, marker.get()), Rollouts.orchestratorPart(layout, marker.get()));
        } catch (IOException e) {
          throw new CheckpointException(layout.rolloutsDir(step) + ": " + e.getMessage(), e);
        }
      }
      if (agreement != null && agreement.signal().requested()) {
        return null;
      }
      if (System.nanoTime() > deadline) {
        throw new CheckpointException(
            "no rollouts for step "
                + step
                + " in "
                + layout.rolloutsRoot()
                + " within "
                + timeout.toSeconds()
                + " s: is the orchestrator running?");
      }
      Polling.pause(20);
    }
  }
}
