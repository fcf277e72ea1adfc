package dev.stepwise.runtime.orchestrator;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stepwise.runtime.checkpoint.AtomicFiles;
import dev.stepwise.runtime.checkpoint.CheckpointException;
import dev.stepwise.runtime.checkpoint.CheckpointParts;
import dev.stepwise.runtime.checkpoint.CheckpointStore;
import dev.stepwise.runtime.checkpoint.PublishedDir;
import dev.stepwise.runtime.checkpoint.Rollouts;
import dev.stepwise.runtime.checkpoint.RunLayout;
import dev.stepwise.runtime.checkpoint.Timeline;
import dev.stepwise.runtime.checkpoint.VerifiedFiles;
import dev.stepwise.runtime.checkpoint.WeightsRetention;
import dev.stepwise.runtime.config.OrchestratorConfig;
import dev.stepwise.runtime.data.ReverseTextTask;
import dev.stepwise.runtime.inference.Sampler;
import dev.stepwise.runtime.metrics.OrchestratorMetrics;
import dev.stepwise.runtime.model.ByteTokenizer;
import dev.stepwise.runtime.model.HfTokenizer;
import dev.stepwise.runtime.util.Polling;
import dev.stepwise.runtime.util.StopSignal;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.OptionalLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The RL orchestrator. For each step n it samples reverse-text problems (a pure function of seed
 * and n), has inference complete each {@code rollouts-per-problem} times with the weights of step
 * {@code w(n) = max(n - 1 - async-level, 0)}, scores the completions, computes group-relative
 * advantages and publishes the batch to {@code rollouts/step_n}. Waiting for the weights of w(n) is
 * what keeps it at most {@code async-level} steps ahead of the trainer; the schedule w(n) does not
 * depend on timing or on where a run was resumed, so a resumed run samples exactly what the run
 * done in one go sampled.
 *
 * <p>Restarted alone within its timeline ({@code --ckpt.recover}, the trainer still running), it
 * resumes from the newest complete checkpoint and replays the steps after it: a step whose rollouts
 * this timeline already published is read back (its counts restore the progress; nothing is
 * sampled), a missing one is sampled again, which gives the same batch. It also deletes the
 * published weights no resume can need any more ({@link WeightsRetention}).
 */
public final class Orchestrator {

  /** What a run reports. */
  public record Result(OrchestratorProgress progress, long resumedFrom, List<Double> meanRewards) {}

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Logger LOG = LoggerFactory.getLogger(Orchestrator.class);

  private final OrchestratorConfig config;
  private final InferenceClient client;
  private StopSignal stop = StopSignal.none();
  private OrchestratorMetrics metrics;

  public Orchestrator(OrchestratorConfig config, InferenceClient client) {
    this.config = config;
    this.client = client;
  }

  /** The weights step whose policy samples the rollouts of step {@code n}. */
  public static long weightsStepFor(long n, int asyncLevel) {
    return Math.max(n - 1 - asyncLevel, 0);
  }

  /**
   * Stops after the step in flight when {@code stop} fires: the rollouts of that step are published
   * (with the orchestrator's checkpoint part, which the trainer completes its own save with), then
   * {@link #run} returns.
   */
  public Orchestrator stopOn(StopSignal stop) {
    this.stop = stop;
    return this;
  }

  public Result run() {
    try (var metrics = OrchestratorMetrics.open(config.metrics())) {
      this.metrics = metrics;
      return runSteps();
    }
  }

  private Result runSteps() {
    var ckpt = config.ckpt();
    var layout =
        new RunLayout(
            Path.of(config.outputDir()), ckpt == null ? RunLayout.DEFAULT_CHECKPOINTS : ckpt.dir());
    var store = new CheckpointStore(layout);
    var timeline = Timeline.of(ckpt, store);
    var recovering = ckpt != null && ckpt.recover();
    var start = store.resolveStart(ckpt);
    var startedFrom = start.orElse(0);
    var progress = start.isPresent() ? restore(store, startedFrom) : OrchestratorProgress.START;
    if (progress.step() > config.maxSteps()) {
      throw new CheckpointException(
          "checkpoint step " + progress.step() + " is beyond max-steps " + config.maxSteps());
    }
    // A new run regenerates everything beyond its start; a recovering one keeps what its own
    // timeline published (the trainer may be reading it) and drops only other timelines' batches.
    var stale =
        PublishedDir.deleteStale(
            layout.rolloutsRoot(), layout::rolloutsDir, startedFrom, recovering, timeline);
    if (!stale.isEmpty()) {
      LOG.info("orchestrator: removed rollouts of steps " + stale + " (not of this timeline)");
    }
    awaitHealthy();
    var codec =
        config.tokenizer() == null
            ? ByteTokenizer.CODEC
            : HfTokenizer.load(Path.of(config.tokenizer()), Integer.MAX_VALUE);
    var task = new ReverseTextTask(config.task().asData(config.problemsPerStep()), config.seed());
    var rewards = new ArrayList<Double>();
    long pushed = -1;
    for (var n = startedFrom + 1; n <= config.maxSteps(); n++) {
      if (stop.requested()) {
        logStopped(n - 1);
        break;
      }
      var replayed = recovering ? published(layout, n, timeline) : null;
      if (replayed != null) {
        progress = progress.advance(replayed.tokens(), replayed.samples(), replayed.problems());
        LOG.atInfo()
            .addKeyValue("step", n)
            .log(
                String.format(
                    "orchestrator step %d/%d | replayed (rollouts already published by this timeline)",
                    n, config.maxSteps()));
        if (ckpt != null && ckpt.due(n, config.maxSteps())) {
          saveProgress(layout, progress, timeline);
        }
        continue;
      }
      var newer = recovering ? store.latestOfTimeline(timeline.id(), n - 1) : OptionalLong.empty();
      if (newer.isPresent() && newer.getAsLong() >= n) {
        // The trainer consumed (and removed) these rollouts and completed a newer checkpoint
        // meanwhile: continue from that one.
        progress = restore(store, newer.getAsLong());
        n = newer.getAsLong();
        continue;
      }
      var stepStart = System.nanoTime();
      var wanted = weightsStepFor(n, config.asyncLevel());
      var weights = awaitWeights(layout, wanted, startedFrom, timeline);
      if (weights < 0) {
        logStopped(n - 1);
        break;
      }
      var waited = (System.nanoTime() - stepStart) / 1e9;
      if (weights != pushed) {
        try {
          client.updateWeights(weights);
        } catch (InferenceClient.InferenceException e) {
          if (!stop.requested()) {
            throw e;
          }
          logStopped(n - 1);
          break;
        }
        pushed = weights;
      }
      var problems = new ArrayList<String>();
      var prompts = new ArrayList<long[]>();
      var first = task.firstIndex(n, 0, 1);
      for (var i = 0; i < config.problemsPerStep(); i++) {
        var text = task.trainText(first + i);
        problems.add(text);
        prompts.add(codec.prompt(text));
      }
      var generateStart = System.nanoTime();
      var group = config.rolloutsPerProblem();
      InferenceClient.Completions response;
      try {
        response =
            client.complete(
                prompts,
                group,
                config.sampling().maxTokens(),
                config.sampling().temperature(),
                Sampler.rowSeed(config.seed(), n));
      } catch (InferenceClient.InferenceException e) {
        if (!stop.requested()) {
          throw e;
        }
        // Inference got the same signal and went away: this step is not needed for a checkpoint.
        logStopped(n - 1);
        break;
      }
      if (response.weightsStep() == null || response.weightsStep() != weights) {
        throw new InferenceClient.InferenceException(
            "inference served step "
                + n
                + " with the weights of step "
                + response.weightsStep()
                + ", expected "
                + weights
                + " (is another orchestrator using it?)");
      }
      var generateSeconds = (System.nanoTime() - generateStart) / 1e9;
      var samples = new ArrayList<Rollouts.Sample>();
      long completionTokens = 0;
      long promptTokens = 0;
      var rewardSum = 0.0;
      for (var p = 0; p < problems.size(); p++) {
        var scores = new double[group];
        var groupMean = 0.0;
        for (var j = 0; j < group; j++) {
          var c = response.choices().get(p * group + j);
          scores[j] = ReverseTextReward.score(problems.get(p), codec.decode(c.tokens(), 0));
          groupMean += scores[j] / group;
        }
        for (var j = 0; j < group; j++) {
          var c = response.choices().get(p * group + j);
          samples.add(
              new Rollouts.Sample(
                  problems.get(p),
                  prompts.get(p),
                  c.tokens(),
                  c.logProbs(),
                  scores[j],
                  scores[j] - groupMean));
          completionTokens += c.tokens().length;
          promptTokens += prompts.get(p).length;
          rewardSum += scores[j];
        }
      }
      var batch = new Rollouts(n, weights, config.sampling().temperature(), samples);
      progress = progress.advance(promptTokens + completionTokens, samples.size(), problems.size());
      try {
        batch.publish(layout, timeline, partBytes(progress));
      } catch (IOException e) {
        throw new UncheckedIOException("cannot publish " + layout.rolloutsDir(n), e);
      }
      var meanReward = rewardSum / samples.size();
      rewards.add(meanReward);
      metrics.step(n, meanReward, completionTokens / generateSeconds);
      LOG.atInfo()
          .addKeyValue("step", n)
          .addKeyValue("reward", meanReward)
          .addKeyValue("weights_step", weights)
          .log(
              String.format(
                  "orchestrator step %d/%d | reward %.4f | seq-len %.1f | %,.0f tok/s | off-policy %d"
                      + " (weights of step %d) | waited %.1f s",
                  n,
                  config.maxSteps(),
                  meanReward,
                  (double) (promptTokens + completionTokens) / samples.size(),
                  completionTokens / generateSeconds,
                  n - 1 - weights,
                  weights,
                  waited));
      if (ckpt != null && ckpt.due(n, config.maxSteps())) {
        saveProgress(layout, progress, timeline);
      }
      retainWeights(store, timeline, pushed);
    }
    LOG.atInfo()
        .addKeyValue("step", progress.step())
        .log(
            String.format(
                "orchestrator done: step %d | %,d problems | %,d samples | %,d tokens",
                progress.step(),
                progress.totalProblems(),
                progress.totalSamples(),
                progress.totalTokens()));
    return new Result(progress, start.orElse(-1), rewards);
  }

  /** What a published batch adds to the progress. */
  private record Counts(long tokens, int samples, int problems) {}

  /** The counts of rollouts/step_n if this timeline published them (and they are readable). */
  private Counts published(RunLayout layout, long n, Timeline timeline) {
    var marker = PublishedDir.usable(layout.rolloutsDir(n), n, timeline);
    if (marker.isEmpty()) {
      return null;
    }
    Rollouts batch;
    try {
      batch = Rollouts.read(layout, marker.get());
    } catch (IOException e) {
      return null; // the trainer removed it meanwhile: handled as missing
    }
    long tokens = 0;
    for (var s : batch.samples()) {
      tokens += s.promptIds().length + s.completionIds().length;
    }
    return new Counts(
        tokens, batch.samples().size(), batch.samples().size() / config.rolloutsPerProblem());
  }

  /** Deletes the published weights that no resume and not the live run can need any more. */
  private void retainWeights(CheckpointStore store, Timeline timeline, long serving) {
    var layout = store.layout();
    var root = layout.weightsRoot();
    // One listing of the complete checkpoints (each read from its manifest) serves both questions.
    var complete = store.completeSteps();
    var liveFrom =
        store
            .latestOfTimeline(timeline.id(), timeline.origin(), complete)
            .orElse(timeline.origin());
    var unneeded =
        WeightsRetention.unneeded(
            PublishedDir.publishedSteps(root), complete, liveFrom, config.asyncLevel(), serving);
    if (!unneeded.isEmpty()) {
      var set = java.util.Set.copyOf(unneeded);
      PublishedDir.deleteSteps(root, set::contains);
    }
  }

  private OrchestratorProgress restore(CheckpointStore store, long step) {
    var layout = store.layout();
    var manifest = store.manifest(step);
    var component = manifest.components().get(RunLayout.ORCHESTRATOR);
    if (component == null) {
      throw new CheckpointException(
          layout.stepDir(step) + " has no orchestrator part: it is not an RL checkpoint");
    }
    var name = RunLayout.ORCHESTRATOR + "/" + RunLayout.PROGRESS;
    var listing = layout.manifest(step);
    var entry = VerifiedFiles.entry(component.files(), name, listing);
    try {
      var bytes = VerifiedFiles.readBytes(layout.stepDir(step).resolve(name), entry, listing);
      var progress = JSON.readValue(bytes, OrchestratorProgress.class);
      LOG.info(
          String.format(
              "orchestrator: resumed from %s (step %d, %,d problems, %,d samples, %,d tokens)",
              layout.stepDir(step),
              progress.step(),
              progress.totalProblems(),
              progress.totalSamples(),
              progress.totalTokens()));
      return progress;
    } catch (IOException e) {
      throw new CheckpointException(layout.stepDir(step) + ": cannot read " + name + ": " + e, e);
    }
  }

  private void saveProgress(RunLayout layout, OrchestratorProgress progress, Timeline timeline) {
    if (CheckpointParts.marker(layout, progress.step(), RunLayout.ORCHESTRATOR, timeline)
        .isPresent()) {
      return; // written before a restart: the same bytes, and perhaps already in a manifest
    }
    try {
      var bytes = partBytes(progress);
      var files = new LinkedHashMap<String, AtomicFiles.Body>();
      files.put(RunLayout.PROGRESS, AtomicFiles.Body.of(bytes));
      CheckpointParts.write(layout, progress.step(), RunLayout.ORCHESTRATOR, timeline, files);
    } catch (IOException e) {
      throw new CheckpointException(
          "cannot write the orchestrator part of " + layout.stepDir(progress.step()) + ": " + e, e);
    }
  }

  private void logStopped(long step) {
    LOG.info(
        String.format(
            "orchestrator: stopped by %s after step %d (the rollouts of each step carry this role's"
                + " checkpoint part for the trainer's save)",
            stop.signalName(), step));
  }

  /** This role's checkpoint part of the step {@code progress} ends: {@code progress.json}. */
  static byte[] partBytes(OrchestratorProgress progress) {
    try {
      return JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(progress);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  private void awaitHealthy() {
    var deadline = System.nanoTime() + (long) (config.waitTimeout() * 1e9);
    var said = false;
    while (!client.healthy()) {
      if (System.nanoTime() > deadline) {
        throw new InferenceClient.InferenceException(
            "no inference server answered "
                + client.baseUrl()
                + "/health within "
                + config.waitTimeout()
                + " s (wait-timeout): start one ('stepwise inference @ infer.toml') or set the"
                + " orchestrator's client.base-url (--client.base-url URL)");
      }
      if (!said) {
        LOG.info("orchestrator: waiting for inference at " + client.baseUrl());
        said = true;
      }
      Polling.pause(200);
    }
  }

  /**
   * Waits for the published weights of {@code step}. Steps up to the start step were written before
   * this run started and must already be there; if retention removed them the newest available one
   * up to the start step is used instead, and the continuation is no longer exact.
   */
  private long awaitWeights(RunLayout layout, long step, long startedFrom, Timeline timeline) {
    var parent = layout.weightsRoot();
    if (step < startedFrom
        && PublishedDir.usable(layout.weightsDir(step), step, timeline).isEmpty()) {
      var fallback = startedFrom;
      LOG.warn(
          String.format(
              "warning: weights of step %d are gone; sampling step %d with the weights of step %d"
                  + " instead (the resumed run will differ from an uninterrupted one)",
              step, step + 1 + config.asyncLevel(), fallback));
      step = fallback;
    }
    var deadline = System.nanoTime() + (long) (config.waitTimeout() * 1e9);
    while (PublishedDir.usable(layout.weightsDir(step), step, timeline).isEmpty()) {
      if (stop.requested()) {
        return -1;
      }
      if (System.nanoTime() > deadline) {
        throw new CheckpointException(
            "the trainer did not publish the weights of step "
                + step
                + " in "
                + parent
                + " within "
                + config.waitTimeout()
                + " s");
      }
      Polling.pause(20);
    }
    return step;
  }
}
