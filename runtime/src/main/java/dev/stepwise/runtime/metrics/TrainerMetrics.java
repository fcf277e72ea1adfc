package dev.stepwise.runtime.metrics;

import dev.stepwise.api.CheckpointMetrics;
import dev.stepwise.api.RunProgress;
import dev.stepwise.runtime.checkpoint.Manifest;
import dev.stepwise.runtime.checkpoint.RunLayout;
import dev.stepwise.runtime.config.MetricsConfig;
import dev.stepwise.runtime.config.ProgressConfig;
import dev.stepwise.runtime.config.TrainerConfig;
import dev.stepwise.runtime.k8s.ProgressReporter;
import dev.stepwise.runtime.trainer.CheckpointSaver;
import dev.stepwise.runtime.trainer.Progress;
import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.Optional;

/**
 * What rank 0 of a trainer (SFT or RL) reports about its steps and checkpoints: a line of {@code
 * metrics.jsonl} per step ({@link MetricsLog}), the metrics recorded in each checkpoint's manifest,
 * the live progress of the TrainingRun in a pod ({@link ProgressReporter}) and, with {@code
 * --metrics.port}, Prometheus {@code /metrics}. Other ranks get {@link #disabled()}, which does
 * nothing. {@link #step} runs on the training thread and never waits for the network.
 */
public final class TrainerMetrics implements CheckpointSaver.Observer, AutoCloseable {

  public static final String STEP = "stepwise_step";
  public static final String LOSS = "stepwise_loss";
  public static final String MEAN_REWARD = "stepwise_mean_reward";
  public static final String TOKENS_PER_SECOND = "stepwise_tokens_per_second";
  public static final String SAVE_SECONDS = "stepwise_checkpoint_save_seconds";
  public static final String STALL_SECONDS = "stepwise_checkpoint_stall_seconds";
  public static final String LAST_CHECKPOINT_STEP = "stepwise_last_checkpoint_step";
  public static final String PROGRESS_WRITES = "stepwise_progress_writes_total";

  /**
   * One trained step: {@code samples} and {@code tokens} cumulative over the run, {@code
   * stepTokens} in {@code stepSeconds} this step's; the eval figures when held-out evaluation ran
   * at this step, {@code meanReward} for RL (else null).
   */
  public record Step(
      long step,
      long samples,
      long tokens,
      double loss,
      double lr,
      long stepTokens,
      double stepSeconds,
      Double evalLoss,
      Double evalAccuracy,
      Double meanReward) {

    /**
     * A step that brought training to {@code progress} (the cumulative counts), without eval
     * figures or reward.
     */
    public static Step of(
        long step, Progress progress, double loss, double lr, long stepTokens, double seconds) {
      return new Step(
          step,
          progress.totalSamples(),
          progress.totalTokens(),
          loss,
          lr,
          stepTokens,
          seconds,
          null,
          null,
          null);
    }

    /** This step with the held-out figures of an evaluation (or null when none ran). */
    public Step withEval(Double heldOutLoss, Double heldOutAccuracy) {
      return new Step(
          step,
          samples,
          tokens,
          loss,
          lr,
          stepTokens,
          stepSeconds,
          heldOutLoss,
          heldOutAccuracy,
          meanReward);
    }

    /** This step with the mean reward of the rollouts it trained on (RL). */
    public Step withReward(double reward) {
      return new Step(
          step, samples, tokens, loss, lr, stepTokens, stepSeconds, evalLoss, evalAccuracy, reward);
    }
  }

  private final boolean enabled;
  private final long maxSteps;
  private final long startStep;
  private final MetricsLog log;
  private final PrometheusRegistry registry;
  private final MetricsServer server;
  private final Optional<ProgressReporter> progress;
  private final long windowNanos;
  private final long trainStartNanos = System.nanoTime();

  private final PrometheusRegistry.Metric stepGauge;
  private final PrometheusRegistry.Metric lossGauge;
  private final PrometheusRegistry.Metric rewardGauge;
  private final PrometheusRegistry.Metric rateGauge;
  private final PrometheusRegistry.Metric saveGauge;
  private final PrometheusRegistry.Metric stallGauge;
  private final PrometheusRegistry.Metric checkpointGauge;
  private final PrometheusRegistry.Metric writesCounter;

  /** (time, cumulative tokens) of the recent steps, for tokens/s over the progress interval. */
  private final ArrayDeque<long[]> recent = new ArrayDeque<>();

  private Step last;
  private Step lastEval;

  private TrainerMetrics(
      boolean enabled,
      long maxSteps,
      long startStep,
      long lastCheckpoint,
      MetricsLog log,
      double intervalSeconds,
      int port,
      ProgressReporterFactory progress) {
    this.enabled = enabled;
    this.maxSteps = maxSteps;
    this.startStep = startStep;
    this.log = log;
    this.windowNanos = (long) (Math.max(intervalSeconds, 1) * 1e9);
    this.registry = new PrometheusRegistry(MetricsLog.TRAINER);
    stepGauge = registry.gauge(STEP, "Training step last completed.");
    lossGauge = registry.gauge(LOSS, "Training loss of the last step.");
    rewardGauge =
        registry.gauge(MEAN_REWARD, "Mean reward of the rollouts trained on at the last step.");
    rateGauge = registry.gauge(TOKENS_PER_SECOND, "Training tokens per second, recent steps.");
    saveGauge =
        registry.gauge(
            SAVE_SECONDS, "Seconds the last checkpoint save took, snapshot to manifest.");
    stallGauge =
        registry.gauge(
            STALL_SECONDS, "Seconds the training loop was blocked by the last checkpoint save.");
    checkpointGauge = registry.gauge(LAST_CHECKPOINT_STEP, "Step of the last complete checkpoint.");
    writesCounter =
        registry.counter(PROGRESS_WRITES, "Writes of the TrainingRun's status.progress.");
    if (lastCheckpoint >= 0) {
      checkpointGauge.set(lastCheckpoint);
    }
    this.progress = enabled ? progress.create(writesCounter) : Optional.empty();
    this.server =
        enabled && port > 0 ? MetricsServer.start(port, registry, "--metrics.port") : null;
  }

  /** Creates the progress reporter, if any; it bumps {@code writes} after each write. */
  interface ProgressReporterFactory {
    Optional<ProgressReporter> create(PrometheusRegistry.Metric writes);
  }

  /**
   * The metrics of rank 0 of a trainer whose run lives in {@code layout}, training to {@code
   * config}'s max-steps from {@code startStep} (the step resumed from, or 0), the newest complete
   * checkpoint being {@code lastCheckpoint} (or -1). Drops the lines of {@code metrics.jsonl} after
   * {@code startStep}; starts the progress reporter (in a pod) and the {@code /metrics} server
   * (with a port). Ranks other than 0 get {@link #disabled()}.
   */
  public static TrainerMetrics open(
      int rank, RunLayout layout, TrainerConfig config, long startStep, long lastCheckpoint) {
    return open(
        rank,
        layout,
        config.maxSteps(),
        startStep,
        lastCheckpoint,
        config.progress(),
        config.metrics(),
        System.getenv());
  }

  static TrainerMetrics open(
      int rank,
      RunLayout layout,
      long maxSteps,
      long startStep,
      long lastCheckpoint,
      ProgressConfig progress,
      MetricsConfig metrics,
      Map<String, String> env) {
    if (rank != 0) {
      return disabled();
    }
    var log = MetricsLog.open(layout.metricsLog(), startStep);
    try {
      return new TrainerMetrics(
          true,
          maxSteps,
          startStep,
          lastCheckpoint,
          log,
          progress.interval(),
          metrics.port(),
          writes ->
              ProgressReporter.fromEnvironment(
                  env, progress.interval(), layout.root(), () -> writes.add(1)));
    } catch (RuntimeException e) {
      log.close();
      throw e;
    }
  }

  /** Metrics that record nothing (ranks other than 0). */
  public static TrainerMetrics disabled() {
    return new TrainerMetrics(false, 0, 0, -1, null, 0, 0, writes -> Optional.empty());
  }

  /** The registry behind {@code /metrics}. */
  public PrometheusRegistry registry() {
    return registry;
  }

  /** The port {@code /metrics} is served on, or -1. */
  public int port() {
    return server == null ? -1 : server.port();
  }

  /** Records a trained step: its line in the log, the gauges and the live progress. */
  public synchronized void step(Step s) {
    if (!enabled) {
      return;
    }
    var now = System.nanoTime();
    var stepRate = s.stepSeconds() > 0 ? s.stepTokens() / s.stepSeconds() : Double.NaN;
    log.append(
        new MetricsLog.Entry(
            Instant.now().truncatedTo(ChronoUnit.MILLIS).toString(),
            MetricsLog.TRAINER,
            s.step(),
            s.loss(),
            s.samples(),
            s.tokens(),
            stepRate,
            s.lr(),
            s.evalLoss(),
            s.evalAccuracy(),
            s.meanReward()));
    last = s;
    if (s.evalLoss() != null || s.evalAccuracy() != null) {
      lastEval = s;
    }
    recent.addLast(new long[] {now, s.tokens()});
    while (recent.size() > 2 && now - recent.peekFirst()[0] > windowNanos) {
      recent.removeFirst();
    }
    var first = recent.peekFirst();
    var rate = recent.size() >= 2 ? (s.tokens() - first[1]) / ((now - first[0]) / 1e9) : stepRate;
    stepGauge.set(s.step());
    setIfFinite(lossGauge, s.loss());
    if (s.meanReward() != null) {
      setIfFinite(rewardGauge, s.meanReward());
    }
    setIfFinite(rateGauge, rate);
    progress.ifPresent(p -> p.offer(progress(s, rate, now)));
  }

  private RunProgress progress(Step s, double rate, long now) {
    var p = new RunProgress();
    p.setStep(s.step());
    p.setSummary(summary(s.step(), maxSteps));
    if (Double.isFinite(rate)) {
      p.setTokensPerSecond((double) Math.round(rate));
    }
    var done = s.step() - startStep;
    if (done > 0) {
      var secondsPerStep = (now - trainStartNanos) / 1e9 / done;
      p.setEta(duration(Math.round(secondsPerStep * (maxSteps - s.step()))));
    }
    p.setLoss(finite(s.loss()));
    if (lastEval != null) {
      p.setEvalAccuracy(finite(lastEval.evalAccuracy()));
    }
    if (s.meanReward() != null) {
      p.setMeanReward(finite(s.meanReward()));
    }
    return p;
  }

  /** {@code <step>/<maxSteps> (<percent>%)}. */
  static String summary(long step, long maxSteps) {
    return step + "/" + maxSteps + " (" + (maxSteps > 0 ? 100 * step / maxSteps : 0) + "%)";
  }

  /** {@code 1h2m3s}, {@code 4m5s}, {@code 6s}. */
  static String duration(long seconds) {
    var s = Math.max(0, seconds);
    if (s >= 3600) {
      return (s / 3600) + "h" + (s / 60 % 60) + "m" + (s % 60) + "s";
    }
    if (s >= 60) {
      return (s / 60) + "m" + (s % 60) + "s";
    }
    return s + "s";
  }

  /**
   * The metrics of the checkpoint of {@code step}, as known now: the step's loss, counts and
   * reward, and the latest held-out figures at or before it; null when {@code step} was not the
   * last step recorded.
   */
  @Override
  public synchronized CheckpointMetrics metricsAt(long step) {
    if (!enabled || last == null || last.step() != step) {
      return null;
    }
    var m = new CheckpointMetrics();
    m.setSamples(last.samples());
    m.setTokens(last.tokens());
    m.setLoss(finite(last.loss()));
    if (lastEval != null) {
      m.setEvalLoss(finite(lastEval.evalLoss()));
      m.setEvalAccuracy(finite(lastEval.evalAccuracy()));
    }
    m.setMeanReward(finite(last.meanReward()));
    return m;
  }

  @Override
  public void stalled(long step, double seconds) {
    if (enabled) {
      stallGauge.set(seconds);
    }
  }

  @Override
  public void saved(Manifest manifest) {
    if (!enabled) {
      return;
    }
    if (manifest.metrics() != null && manifest.metrics().getSaveSeconds() != null) {
      saveGauge.set(manifest.metrics().getSaveSeconds());
    }
    synchronized (checkpointGauge) {
      var known = checkpointGauge.get();
      if (Double.isNaN(known) || manifest.step() > known) {
        checkpointGauge.set(manifest.step());
      }
    }
  }

  private static void setIfFinite(PrometheusRegistry.Metric gauge, double value) {
    if (Double.isFinite(value)) {
      gauge.set(value);
    }
  }

  /**
   * A finite value to 6 significant digits, or null: what a checkpoint's manifest and status and
   * the run's progress carry (kubectl shows 0.795130, not 0.7951303124427795); metrics.jsonl keeps
   * every digit. Manifest and status carry the same number, so local and operator retention rank
   * alike.
   */
  private static Double finite(Double value) {
    if (value == null || !Double.isFinite(value)) {
      return null;
    }
    return new BigDecimal(value).round(SIGNIFICANT).doubleValue();
  }

  private static final MathContext SIGNIFICANT = new MathContext(6, RoundingMode.HALF_EVEN);

  /** Writes the last progress (bounded), stops serving {@code /metrics}, closes the log. */
  @Override
  public void close() {
    if (!enabled) {
      return;
    }
    try {
      progress.ifPresent(ProgressReporter::close);
    } finally {
      if (server != null) {
        server.close();
      }
      log.close();
    }
  }
}
