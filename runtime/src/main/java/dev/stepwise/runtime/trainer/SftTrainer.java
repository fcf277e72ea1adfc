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

  private static final Logger LOG = LoggerFactory.getLogger(SftTrainer.class);

  private final SftConfig config;
  private final Logger log;
  private final CheckpointWriter.FileListener fileListener;
  private final ProcessGroup group;
  private final int rank;
  private final int worldSize;
  private StopSignal stop = StopSignal.none();

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
    var firstLoss = Double.NaN;
    var lastLoss = Double.NaN;
    var trainStart = System.nanoTime();
    var startStep = progress.step();
    var progressEvery =
        config.log().progressInterval() > 0
            ? config.log().progressInterval()
            : Math.max(10, (config.maxSteps() - startStep + 9) / 10);
    var stopped = false;
    // On a GPU, reading a value waits for all the work queued before it and leaves the GPU idle
    // while the host queues what follows: with one rank the step reads its loss once, last, after
    // the optimizer step is queued, its tensors released and the next batch tokenized, and its
    // gradient norm only when it logs it. With several ranks the loss is read before the
    // all-reduce, which carries it.
    var readLossLast = device.is_cuda() && !group.distributed();
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
      HostBatch next = null;
      for (var step = startStep + 1; step <= config.maxSteps(); step++) {
        var stepStart = System.nanoTime();
        phases.beginStep();
        var lr = setup.schedule().lr(step);
        DeviceScalar lossOnDevice;
        DeviceScalar norm;
        long tokens;
        int samples;
        try (var scope = new PointerScope()) {
          var batch =
              (next != null ? next : task.hostBatch(step, rank, worldSize)).toDevice(device);
          phases.mark("batch");
          var value = loss.loss(model, batch);
          phases.mark("forward");
          value.backward();
          phases.mark("backward");
          // Reading the loss waits for the backward pass on a GPU: outside the all-reduce's time.
          var localLoss = readLossLast ? Double.NaN : value.item_float();
          var reduceStart = System.nanoTime();
          var reduced =
              GradientSync.allReduce(
                  group,
                  model.parameters(),
                  localLoss,
                  batch.lossTokens(),
                  batch.tokenCount(),
                  step);
          allReduceNanos += System.nanoTime() - reduceStart;
          norm = optimizer.clipGradNormDeferred(config.optim().maxNorm());
          optimizer.step(lr);
          optimizer.zeroGrad();
          lossOnDevice = readLossLast ? DeviceScalar.of(value) : DeviceScalar.known(reduced.loss());
          tokens = reduced.tokens();
          samples = batch.samples() * worldSize;
        }
        phases.mark("optimizer");
        // While the device runs the update just queued, the host has released the step's
        // tensors (above) and now tokenizes the next step's batch.
        next = step < config.maxSteps() ? task.hostBatch(step + 1, rank, worldSize) : null;
        phases.mark("next batch");
        double lossValue;
        double gradNorm;
        try (lossOnDevice;
            norm) {
          lossValue = lossOnDevice.getAsDouble();
          gradNorm =
              step % config.log().interval() == 0 || step == config.maxSteps()
                  ? norm.getAsDouble()
                  : Double.NaN;
        }
        phases.mark("loss read");
        progress = progress.advance(samples, tokens);
        if (Double.isNaN(firstLoss)) {
          firstLoss = lossValue;
        }
        lastLoss = lossValue;
        var seconds = (System.nanoTime() - stepStart) / 1e9;
        if (step % config.log().interval() == 0 || step == config.maxSteps()) {
          log.atInfo()
              .addKeyValue("step", step)
              .addKeyValue("loss", lossValue)
              .addKeyValue("lr", lr)
              .log(
                  String.format(
                      "step %d/%d | loss %.4f | lr %.2e | grad-norm %.3f | %,.0f tok/s | %.0f ms",
                      step,
                      config.maxSteps(),
                      lossValue,
                      lr,
                      gradNorm,
                      tokens / seconds,
                      seconds * 1000));
        }
        // Held-out evaluation every eval.interval steps and at the last one, before the step's
        // checkpoint, which records it.
        Double evalLoss = null;
        Double evalAccuracy = null;
        if (rank == 0
            && config.eval().samples() > 0
            && !stop.requested()
            && ((config.eval().interval() > 0 && step % config.eval().interval() == 0)
                || step == config.maxSteps())) {
          evalAccuracy = Evaluator.accuracy(model, task, config.eval().samples(), device);
          evalLoss =
              Evaluator.loss(
                  model, task, config.eval().samples(), config.data().batchSize(), device);
          log.info(
              String.format(
                  "eval step %d | held-out exact-match %.1f%% | held-out loss %.4f",
                  step, 100 * evalAccuracy, evalLoss));
          if (step == config.maxSteps()) {
            finalAccuracy = evalAccuracy;
          }
        }
        metrics.step(
            TrainerMetrics.Step.of(step, progress, lossValue, lr, tokens, seconds)
                .withEval(evalLoss, evalAccuracy));
        if (config.maxSteps() - startStep >= 100 && (step - startStep) % progressEvery == 0) {
          logProgress(step, startStep, trainStart);
        }
        var capture = setup.capture(progress, dataState(task, step), configToml, rank, worldSize);
        if (saver != null && ckpt.due(step, config.maxSteps())) {
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
    return new Result(progress, resumedFrom, firstLoss, lastLoss, accuracy, trainTime, wall);
  }

  private void logProgress(long step, long startStep, long trainStart) {
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
