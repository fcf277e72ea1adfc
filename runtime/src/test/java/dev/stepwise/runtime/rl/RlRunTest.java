package dev.stepwise.runtime.rl;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.runtime.checkpoint.CheckpointStore;
import dev.stepwise.runtime.checkpoint.RunLayout;
import dev.stepwise.runtime.config.CommandLine;
import dev.stepwise.runtime.config.OrchestratorConfig;
import dev.stepwise.runtime.config.RlTrainerConfig;
import dev.stepwise.runtime.log.LogCapture;
import dev.stepwise.runtime.metrics.MetricsLog;
import dev.stepwise.runtime.orchestrator.InferenceClient;
import dev.stepwise.runtime.orchestrator.Orchestrator;
import dev.stepwise.runtime.util.StopSignal;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
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

  @Test
  void theTrainerRecordsTheRewardItTrainedOnAndTheOrchestratorServesItsOwn() throws Exception {
    var dir = tmp.resolve("run");
    int port;
    try (var socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    var stop = StopSignal.manual(Duration.ofSeconds(60));
    Orchestrator.Result sampled;
    try (var log = LogCapture.start();
        var server = RlTestRuns.inference(dir)) {
      var url = "http://127.0.0.1:" + server.start();
      var common = List.of("--output-dir", dir.toString(), "--wait-timeout", "60");
      // The orchestrator runs ahead to step 6 and then waits for weights the trainer, which
      // stops at 4, never publishes: its /metrics are scraped there, then it is stopped.
      var orchestrator =
          parse(
              OrchestratorConfig.class,
              common,
              concat(
                  new String[] {
                    "--max-steps",
                    "7",
                    "--ckpt.interval",
                    "2",
                    "--metrics.port",
                    String.valueOf(port)
                  },
                  RlTestRuns.tinyOrchestrator(8, url).toArray(String[]::new)));
      var trainerArgs = new ArrayList<>(common);
      trainerArgs.addAll(RlTestRuns.TINY_MODEL);
      var trainer =
          parse(RlTrainerConfig.class, trainerArgs, "--max-steps", "4", "--ckpt.interval", "2");
      var client = new InferenceClient(url, Duration.ofSeconds(30));
      var orchestration =
          CompletableFuture.supplyAsync(
              () -> new Orchestrator(orchestrator, client).stopOn(stop).run());
      new RlTrainer(trainer).run();
      var http = HttpClient.newHttpClient();
      var scrape =
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).build();
      await()
          .atMost(Duration.ofSeconds(60))
          .until(
              () ->
                  http.send(scrape, HttpResponse.BodyHandlers.ofString())
                      .body()
                      .contains("stepwise_step{role=\"orchestrator\"} 6\n"));
      var body = http.send(scrape, HttpResponse.BodyHandlers.ofString()).body();
      assertTrue(body.contains("stepwise_mean_reward{role=\"orchestrator\"} "), body);
      assertTrue(body.contains("stepwise_tokens_per_second{role=\"orchestrator\"} "), body);
      stop.received("TERM");
      sampled = orchestration.get(60, TimeUnit.SECONDS);
    }
    var lines = MetricsLog.read(new RunLayout(dir).metricsLog());
    assertEquals(List.of(1L, 2L, 3L, 4L), lines.stream().map(MetricsLog.Entry::step).toList());
    var store = new CheckpointStore(new RunLayout(dir));
    for (var line : lines) {
      var step = (int) line.step();
      assertEquals(sampled.meanRewards().get(step - 1), line.meanReward(), "step " + step);
      assertEquals(8L * step, line.samples());
      assertNull(line.evalAccuracy());
    }
    assertEquals(List.of(2L, 4L), store.completeSteps());
    for (var step : List.of(2, 4)) {
      var metrics = store.manifest(step).metrics();
      assertEquals(
          lines.get(step - 1).meanReward(),
          metrics.getMeanReward(),
          1e-5 * Math.abs(lines.get(step - 1).meanReward()),
          "step " + step + ", to 6 digits");
      assertEquals(
          lines.get(step - 1).loss(),
          metrics.getLoss(),
          1e-5 * Math.abs(lines.get(step - 1).loss()));
      assertEquals(8L * step, metrics.getSamples());
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
