package dev.stepwise.runtime.rl;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.stepwise.runtime.checkpoint.CheckpointStore;
import dev.stepwise.runtime.checkpoint.RunLayout;
import dev.stepwise.runtime.config.CommandLine;
import dev.stepwise.runtime.config.OrchestratorConfig;
import dev.stepwise.runtime.config.RlTrainerConfig;
import dev.stepwise.runtime.log.LogCapture;
import dev.stepwise.runtime.orchestrator.InferenceClient;
import dev.stepwise.runtime.orchestrator.Orchestrator;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The three roles in one JVM on a tiny model: a run split at a checkpoint ends bit-identical. */
class RlRunTest {

  @TempDir Path tmp;

  private static <T extends Record> T parse(Class<T> type, List<String> common, String... flags) {
    var args = new ArrayList<>(common);
    args.addAll(List.of(flags));
    return CommandLine.parse(type, args).config();
  }

  /** Runs trainer and orchestrator against an inference server that outlives the run. */
  private static void rl(Path dir, String url, String... shared) throws Exception {
    var common = List.of("--output-dir", dir.toString(), "--wait-timeout", "60");
    var orchestrator =
        parse(
            OrchestratorConfig.class,
            common,
            concat(shared, RlTestRuns.tinyOrchestrator(8, url).toArray(String[]::new)));
    var trainerArgs = new ArrayList<>(common);
    trainerArgs.addAll(RlTestRuns.TINY_MODEL);
    var trainer = parse(RlTrainerConfig.class, trainerArgs, concat(shared, "--optim.lr", "1e-2"));
    var client = new InferenceClient(url, Duration.ofSeconds(30));
    try (var log = LogCapture.start()) {
      var orchestration =
          CompletableFuture.supplyAsync(() -> new Orchestrator(orchestrator, client).run());
      new RlTrainer(trainer).run();
      orchestration.get(60, TimeUnit.SECONDS);
    }
  }

  private static String[] concat(String[] a, String... b) {
    var out = new ArrayList<>(List.of(a));
    out.addAll(List.of(b));
    return out.toArray(String[]::new);
  }

  @Test
  void aRunSplitAtACheckpointEndsBitIdenticalToTheRunInOneGo() throws Exception {
    var straight = tmp.resolve("straight");
    var split = tmp.resolve("split");
    try (var a = RlTestRuns.inference(straight);
        var b = RlTestRuns.inference(split)) {
      var urlA = "http://127.0.0.1:" + a.start();
      var urlB = "http://127.0.0.1:" + b.start();
      rl(straight, urlA, "--max-steps", "6", "--ckpt", "--ckpt.interval", "3");
      rl(split, urlB, "--max-steps", "3", "--ckpt");
      // Same inference server, still holding step-2 weights: the resume must push its own.
      rl(split, urlB, "--max-steps", "6", "--ckpt", "--ckpt.resume-step", "3");
    }
    assertEquals(List.of(3L, 6L), new CheckpointStore(new RunLayout(straight)).completeSteps());
    var manifest = new CheckpointStore(new RunLayout(split)).manifest(6);
    assertEquals(
        List.of(RunLayout.ORCHESTRATOR, RunLayout.TRAINER),
        List.copyOf(new java.util.TreeSet<>(manifest.components().keySet())));
    RlTestRuns.assertSameState(straight, split, 6);
  }
}
