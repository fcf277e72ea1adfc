package dev.stepwise.runtime.trainer;

import dev.stepwise.runtime.checkpoint.CheckpointWriter;
import dev.stepwise.runtime.config.ConfigException;
import dev.stepwise.runtime.config.SftConfig;
import dev.stepwise.runtime.config.TomlWriter;
import dev.stepwise.runtime.data.HostBatch;
import dev.stepwise.runtime.data.ReverseTextTask;
import dev.stepwise.runtime.k8s.CheckpointReporter;
import dev.stepwise.runtime.metrics.TrainerMetrics;
import dev.stepwise.runtime.model.GpuMemory;
import dev.stepwise.runtime.parallel.GradientSync;
import dev.stepwise.runtime.parallel.ProcessGroup;
import dev.stepwise.runtime.util.StopSignal;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.bytedeco.javacpp.PointerScope;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.helpers.NOPLogger;

/**
 * Supervised fine-tuning on the reverse-text task: the training loop, checkpoint saves and resume.
 * Data parallel over the ranks of a {@link ProcessGroup}: each rank trains on its slice of the
 * global batch, gradients are all-reduced ({@link GradientSync}), and every rank keeps the whole
 * model and optimizer; checkpoints are sharded across ranks and reload at any world size. Only rank
 * 0 logs steps and evaluates.
 */
public final class SftTrainer {

  /** What a run reports when it ends. */
  public record Result(
      Progress progress,
      long resumedFrom,
      double firstLoss,
      double lastLoss,
      double heldOutAccuracy,
      Duration trainTime,
      Duration wallTime) {}

  /**
   * System property: read each step once the next step is queued (default: on a GPU with one rank);
   * {@code false} reads every step before the next is queued (to measure the difference on one
   * build).
   */
  static final String PIPELINE = "stepwise.pipeline";

  private static final Logger LOG = LoggerFactory.getLogger(SftTrainer.class);

  private final SftConfig config;
  private final Logger log;
  private final CheckpointWriter.FileListener fileListener;
  private final ProcessGroup group;
  private final int rank;
  private final int worldSize;
  private StopSignal stop = StopSignal.none();
  private Boolean deferReadsOverride;

  public SftTrainer(SftConfig config) {
    this(config, CheckpointWriter.FileListener.NONE);
  }

  /** {@code fileListener} observes checkpoint files as they are written (tests use it). */
  public SftTrainer(SftConfig config, CheckpointWriter.FileListener fileListener) {
    this(config, fileListener, ProcessGroup.single());
  }

  /** One rank of a data-parallel run over {@code group}; ranks other than 0 log nothing. */
  public SftTrainer(
      SftConfig config, CheckpointWriter.FileListener fileListener, ProcessGroup group) {
    this.config = config;
    this.group = group;
    this.rank = group.rank();
    this.worldSize = group.worldSize();
    this.log = rank == 0 ? LOG : NOPLogger.NOP_LOGGER;
    this.fileListener = fileListener;
  }

  /**
   * Stops after the step in flight when {@code stop} fires (with checkpointing on): that step is
   * saved as a complete checkpoint, then {@link #run} returns.
   */
  public SftTrainer stopOn(StopSignal stop) {
    this.stop = stop;
    return this;
  }

  /**
   * Defers each step's reads until the next step is queued ({@code true}) or never ({@code false}),
   * whatever the device: tests use it to show that the order of reads changes no number.
   */
  SftTrainer deferringReads(boolean on) {
    this.deferReadsOverride = on;
    return this;
  }

  public Result run() {
    var wallStart = System.nanoTime();
    var ckpt = config.ckpt();
    var setup = TrainerSetup.of(config);
    var layout = setup.layout();
    var model = setup.model();
    var optimizer = setup.optimizer();
    var device = setup.device();
    var task = new ReverseTextTask(config.data(), config.seed(), setup.codec());
    if (config.data().batchSize() % worldSize != 0) {
      throw new ConfigException(
          "data.batch-size: "
              + config.data().batchSize()
              + " (the global batch) does not split evenly across WORLD_SIZE="
              + worldSize
              + " ranks");
    }
    var loss = LossFunction.maskedNll();
    var configToml = TomlWriter.write(config);
    log.info(
        String.format(
            "sft: %,d parameters, %s | %s",
            model.parameterCount(),
            config.model().isHf()
                ? "model " + config.model().hf()
                : config.model().nLayers() + " layers, d-model " + config.model().dModel(),
            setup.describe()));
    if (group.distributed()) {
      log.info(
          String.format(
              "data parallel: %d ranks (%s), %d sequences per rank of a global batch of %d",
              worldSize,
              group.collectives().label(),
              task.rankBatchSize(worldSize),
              config.data().batchSize()));
    }

    var start = setup.start(rank, worldSize, "");
    var progress = start.progress();
    long resumedFrom = start.resumedFrom().orElse(-1);
    if (start.initialisedFrom() != null) {
      log.info(
          String.format(
              "initialised the model from %s (weights only, fresh optimizer)",
              start.initialisedFrom()));
    }

    if (resumedFrom >= 0 && progress.step() == config.maxSteps()) {
      log.info(String.format("step %d is already complete: nothing to train", progress.step()));
      var wall = Duration.ofNanos(System.nanoTime() - wallStart);
      return new Result(
          progress, resumedFrom, Double.NaN, Double.NaN, Double.NaN, Duration.ZERO, wall);
    }
    var reporter =
        ckpt == null
            ? Optional.<CheckpointReporter>empty()
            : CheckpointReporter.fromEnvironment(layout);
    long allReduceNanos = 0;
    var trainStart = System.nanoTime();
    var startStep = progress.step();
    var tally = new Tally(progress, trainStart);
    var stopped = false;
    // On a GPU, reading a value waits for all the work queued before it and leaves the GPU idle
    // while the host queues what follows. With one rank a step's loss (and, on logging steps, its
    // gradient norm) stays on the device until the next step's work is queued behind it; the host
    // reads it and writes the step's log line and metrics while the GPU runs the next step. A
    // step that saves a checkpoint, evaluates, stops or ends the run is read at once, before the
    // next step changes the weights. With several ranks the loss is read before the all-reduce,
    // which carries it.
    var lossStaysOnDevice = device.is_cuda() && !group.distributed();
    // (Ranks that could disagree on which steps are deferred would disagree on the stop
    // agreement's all-reduce: with several ranks every step is read at once.)
    var readAfterNextQueued =
        !group.distributed()
            && (deferReadsOverride != null
                ? deferReadsOverride
                : Boolean.parseBoolean(
                    System.getProperty(PIPELINE, Boolean.toString(lossStaysOnDevice))));
    var finalAccuracy = Double.NaN;
    var phases = StepPhases.on(device);
    try (var metrics = TrainerMetrics.open(rank, layout, config, startStep, resumedFrom);
        var saver =
            ckpt == null
                ? null
                : new CheckpointSaver(
                        new CheckpointWriter(layout, fileListener),
                        setup.store(),
                        ckpt,
                        resumedFrom,
                        manifest -> reporter.ifPresent(r -> r.accept(manifest)),
                        group,
                        stop)
                    .observedBy(metrics)) {
      var agreement = new StopAgreement(saver == null ? StopSignal.none() : stop, group, device);
      var next = task.hostBatch(startStep + 1, rank, worldSize);
      QueuedStep pending = null;
      for (var step = startStep + 1; step <= config.maxSteps(); step++) {
        phases.beginStep();
        var queued = queue(step, next, setup, loss, lossStaysOnDevice, phases);
        allReduceNanos += queued.allReduceNanos();
        // While the device runs the step just queued, the host has released the step's tensors
        // (in queue) and now tokenizes the next step's batch.
        next = step < config.maxSteps() ? task.hostBatch(step + 1, rank, worldSize) : null;
        phases.mark("next batch");
        if (pending != null) {
          var read = tally.read(pending);
          metrics.step(read.metrics(tally.progress()));
          logProgress(read.step(), startStep, trainStart);
          pending = null;
        }
        var lastStep = step == config.maxSteps();
        var saveDue = saver != null && ckpt.due(step, config.maxSteps());
        var evalDue = evalDue(step);
        if (readAfterNextQueued
            && !lastStep
            && !saveDue
            && !evalDue
            && !agreement.signal().requested()) {
          pending = queued;
          phases.mark("loss read");
          continue;
        }
        var read = tally.read(queued);
        phases.mark("loss read");
        // Held-out evaluation every eval.interval steps and at the last one, before the step's
        // checkpoint, which records it.
        Double evalLoss = null;
        Double evalAccuracy = null;
        if (evalDue && !stop.requested()) {
          evalAccuracy = Evaluator.accuracy(model, task, config.eval().samples(), device);
          evalLoss =
              Evaluator.loss(
                  model, task, config.eval().samples(), config.data().batchSize(), device);
          log.info(
              String.format(
                  "eval step %d | held-out exact-match %.1f%% | held-out loss %.4f",
                  step, 100 * evalAccuracy, evalLoss));
          if (lastStep) {
            finalAccuracy = evalAccuracy;
          }
        }
        metrics.step(read.metrics(tally.progress()).withEval(evalLoss, evalAccuracy));
        logProgress(step, startStep, trainStart);
        var capture =
            setup.capture(tally.progress(), dataState(task, step), configToml, rank, worldSize);
        if (saveDue) {
          saver.save(capture);
        }
        if (agreement.stopAfter(step)) {
          agreement.checkNotAborted(step);
          saver.savePreemption(capture);
          log.info(StopAgreement.stoppedMessage(stop, step, layout.stepDir(step)));
          stopped = true;
          break;
        }
      }
    }
    progress = tally.progress();
    reporter.ifPresent(CheckpointReporter::close);
    // Every rank's shards are reported before anyone leaves; rank 0's store outlives the others.
    group.barrier("end of training");
    var trainTime = Duration.ofNanos(System.nanoTime() - trainStart);
    var phaseSummary = phases.summary();
    if (!phaseSummary.isEmpty()) {
      log.info(phaseSummary);
    }
    GpuMemory.summary(device).ifPresent(log::info);
    if (group.distributed() && progress.step() > startStep) {
      log.info(
          String.format(
              "all-reduce: %.1f ms per step, %.0f%% of training time",
              allReduceNanos / 1e6 / (progress.step() - startStep),
              100.0 * allReduceNanos / Math.max(1, trainTime.toNanos())));
    }
    var accuracy = stopped ? Double.NaN : finalAccuracy;
    if (!Double.isNaN(accuracy)) {
      log.info(
          String.format(
              "held-out exact-match accuracy: %.1f%% (%d strings never trained on)",
              100 * accuracy, config.eval().samples()));
    }
    var wall = Duration.ofNanos(System.nanoTime() - wallStart);
    log.atInfo()
        .addKeyValue("step", progress.step())
        .log(
            String.format(
                "done: step %d | %,d samples | %,d tokens | training %.1f s | wall %.1f s",
                progress.step(),
                progress.totalSamples(),
                progress.totalTokens(),
                trainTime.toMillis() / 1000.0,
                wall.toMillis() / 1000.0));
    return new Result(
        progress, resumedFrom, tally.firstLoss(), tally.lastLoss(), accuracy, trainTime, wall);
  }

  /**
   * Queues step {@code step} on the batch {@code hostBatch}: forward, backward, the all-reduce of
   * several ranks, gradient clipping and the optimizer update. On a GPU with {@code
   * lossStaysOnDevice} nothing in it waits for the device: its loss and gradient norm stay there
   * until {@link QueuedStep#read}. Its tensors are released when it returns.
   */
  private QueuedStep queue(
      long step,
      HostBatch hostBatch,
      TrainerSetup setup,
      LossFunction loss,
      boolean lossStaysOnDevice,
      StepPhases phases) {
    var queuedAt = System.nanoTime();
    var model = setup.model();
    var optimizer = setup.optimizer();
    var lr = setup.schedule().lr(step);
    QueuedStep queued;
    try (var scope = new PointerScope()) {
      var batch = hostBatch.toDevice(setup.device());
      phases.mark("batch");
      var value = loss.loss(model, batch);
      phases.mark("forward");
      value.backward();
      phases.mark("backward");
      // Reading the loss waits for the backward pass on a GPU: outside the all-reduce's time.
      var localLoss = lossStaysOnDevice ? Double.NaN : value.item_float();
      var reduceStart = System.nanoTime();
      var reduced =
          GradientSync.allReduce(
              group, model.parameters(), localLoss, batch.lossTokens(), batch.tokenCount(), step);
      var reduceNanos = System.nanoTime() - reduceStart;
      var norm = optimizer.clipGradNormDeferred(config.optim().maxNorm());
      optimizer.step(lr);
      optimizer.zeroGrad();
      queued =
          new QueuedStep(
              step,
              lr,
              lossStaysOnDevice ? DeviceScalar.of(value) : DeviceScalar.known(reduced.loss()),
              norm,
              reduced.tokens(),
              batch.samples() * worldSize,
              queuedAt,
              reduceNanos);
    }
    phases.mark("optimizer");
    return queued;
  }

  /** Whether rank 0 evaluates on held-out data after {@code step}. */
  private boolean evalDue(long step) {
    return rank == 0
        && config.eval().samples() > 0
        && ((config.eval().interval() > 0 && step % config.eval().interval() == 0)
            || step == config.maxSteps());
  }

  /** Whether {@code step} writes a log line (with its gradient norm). */
  private boolean logged(long step) {
    return step % config.log().interval() == 0 || step == config.maxSteps();
  }

  /**
   * A step whose work is queued, with its loss and gradient norm where they were computed. Reading
   * them ({@link Tally#read}) closes it.
   */
  private record QueuedStep(
      long step,
      double lr,
      DeviceScalar loss,
      DeviceScalar gradNorm,
      long tokens,
      int samples,
      long queuedAt,
      long allReduceNanos) {}

  /**
   * A step read back: {@code seconds} runs from when it was queued, or from when the step before it
   * was read if that was later (with reads deferred, the time between two steps' completions).
   */
  private record StepRead(
      long step, double lr, double loss, double gradNorm, long tokens, double seconds) {

    TrainerMetrics.Step metrics(Progress progress) {
      return TrainerMetrics.Step.of(step, progress, loss, lr, tokens, seconds);
    }
  }

  /** The steps read so far, in order: progress, first and last loss; logs each step it reads. */
  private final class Tally {
    private Progress progress;
    private double firstLoss = Double.NaN;
    private double lastLoss = Double.NaN;
    private long lastRead;

    Tally(Progress progress, long trainStart) {
      this.progress = progress;
      this.lastRead = trainStart;
    }

    /** Reads {@code queued}'s values (waiting for the device if they are still there). */
    StepRead read(QueuedStep queued) {
      double loss;
      double gradNorm;
      try (var lossValue = queued.loss();
          var normValue = queued.gradNorm()) {
        loss = lossValue.getAsDouble();
        gradNorm = logged(queued.step()) ? normValue.getAsDouble() : Double.NaN;
      }
      var now = System.nanoTime();
      var read =
          new StepRead(
              queued.step(),
              queued.lr(),
              loss,
              gradNorm,
              queued.tokens(),
              (now - Math.max(queued.queuedAt(), lastRead)) / 1e9);
      lastRead = now;
      progress = progress.advance(queued.samples(), queued.tokens());
      if (Double.isNaN(firstLoss)) {
        firstLoss = loss;
      }
      lastLoss = loss;
      if (logged(read.step())) {
        log.atInfo()
            .addKeyValue("step", read.step())
            .addKeyValue("loss", loss)
            .addKeyValue("lr", read.lr())
            .log(
                String.format(
                    "step %d/%d | loss %.4f | lr %.2e | grad-norm %.3f | %,.0f tok/s | %.0f ms",
                    read.step(),
                    config.maxSteps(),
                    loss,
                    read.lr(),
                    gradNorm,
                    read.tokens() / read.seconds(),
                    read.seconds() * 1000));
      }
      return read;
    }

    Progress progress() {
      return progress;
    }

    double firstLoss() {
      return firstLoss;
    }

    double lastLoss() {
      return lastLoss;
    }
  }

  /** Every tenth of a run of 100 steps or more ({@code log.progress-interval} steps if set). */
  private void logProgress(long step, long startStep, long trainStart) {
    var every =
        config.log().progressInterval() > 0
            ? config.log().progressInterval()
            : Math.max(10, (config.maxSteps() - startStep + 9) / 10);
    if (config.maxSteps() - startStep < 100 || (step - startStep) % every != 0) {
      return;
    }
    var elapsed = (System.nanoTime() - trainStart) / 1e9;
    var done = step - startStep;
    var eta = elapsed / done * (config.maxSteps() - step);
    log.info(
        String.format(
            "progress %.0f%% | step %d/%d | elapsed %s | eta %s",
            100.0 * step / config.maxSteps(), step, config.maxSteps(), clock(elapsed), clock(eta)));
  }

  private static String clock(double seconds) {
    var s = Math.round(seconds);
    return s >= 3600
        ? String.format("%dh%02dm%02ds", s / 3600, s / 60 % 60, s % 60)
        : String.format("%dm%02ds", s / 60, s % 60);
  }

  /** How this rank's input resumes after {@code step}. */
  private Map<String, Object> dataState(ReverseTextTask task, long step) {
    return Map.of(
        "sampler",
        "reverse-text: example i of step s for rank r is f(seed, ((s-1)*W+r)*B+i)",
        "next_step",
        step + 1,
        "next_index",
        task.firstIndex(step + 1, rank, worldSize));
  }
}
