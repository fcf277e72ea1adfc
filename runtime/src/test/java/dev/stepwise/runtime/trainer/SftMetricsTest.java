package dev.stepwise.runtime.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stepwise.runtime.checkpoint.CheckpointStore;
import dev.stepwise.runtime.checkpoint.CheckpointWriter;
import dev.stepwise.runtime.checkpoint.Manifest;
import dev.stepwise.runtime.checkpoint.RunLayout;
import dev.stepwise.runtime.metrics.MetricsLog;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a real (tiny) SFT run reports: metrics.jsonl, metrics in manifests, /metrics. */
class SftMetricsTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path tmp;

  private static Map<Long, MetricsLog.Entry> byStep(Path runDir) throws IOException {
    return MetricsLog.read(new RunLayout(runDir).metricsLog()).stream()
        .collect(
            Collectors.toMap(
                MetricsLog.Entry::step, Function.identity(), (a, b) -> b, TreeMap::new));
  }

  @Test
  void everyStepHasALineAndEvalStepsCarryTheHeldOutFigures() throws IOException {
    var result =
        SftTrainerTest.train(
            tmp, "--max-steps", "6", "--eval.samples", "8", "--eval.interval", "4");
    var lines = Files.readAllLines(new RunLayout(tmp).metricsLog());
    assertEquals(6, lines.size(), String.join("\n", lines));
    var entries = MetricsLog.read(new RunLayout(tmp).metricsLog());
    for (var i = 0; i < 6; i++) {
      var e = entries.get(i);
      assertEquals(i + 1, e.step());
      assertEquals("trainer", e.role());
      assertEquals(8L * (i + 1), e.samples(), "cumulative samples");
      assertTrue(e.tokens() > 0 && e.tokensPerSecond() > 0 && e.loss() > 0 && e.lr() > 0);
      assertNull(e.meanReward(), "no reward in SFT");
      var node = JSON.readTree(lines.get(i));
      for (var key : List.of("time", "role", "step", "loss", "samples", "tokens", "lr")) {
        assertTrue(node.has(key), key + " in " + lines.get(i));
      }
      assertTrue(node.has("tokensPerSecond"), lines.get(i));
      var evalStep = i + 1 == 4 || i + 1 == 6;
      assertEquals(evalStep, node.has("evalAccuracy"), lines.get(i));
      assertEquals(evalStep, node.has("evalLoss"), lines.get(i));
    }
    assertTrue(entries.get(1).tokens() > entries.get(0).tokens(), "cumulative tokens");
    assertEquals(result.lastLoss(), entries.get(5).loss());
    assertEquals(result.heldOutAccuracy(), entries.get(5).evalAccuracy(), "the final eval");
  }

  @Test
  void eachCheckpointRecordsTheMetricsOfItsStep() throws IOException {
    SftTrainerTest.train(
        tmp,
        "--max-steps",
        "6",
        "--ckpt.interval",
        "2",
        "--eval.samples",
        "8",
        "--eval.interval",
        "3");
    var log = byStep(tmp);
    var store = new CheckpointStore(new RunLayout(tmp));
    assertEquals(List.of(2L, 4L, 6L), store.completeSteps());
    for (var step : store.completeSteps()) {
      var metrics = store.manifest(step).metrics();
      assertNotNull(metrics, "step " + step);
      var line = log.get(step);
      assertEquals(line.samples(), metrics.getSamples());
      assertEquals(line.tokens(), metrics.getTokens());
      assertEquals(line.loss(), metrics.getLoss(), 1e-5 * Math.abs(line.loss()), "6 digits");
      assertNull(metrics.getMeanReward());
      assertTrue(metrics.getSaveSeconds() >= 0 && metrics.getSaveSeconds() < 60);
    }
    assertNull(store.manifest(2).metrics().getEvalAccuracy(), "no eval at or before step 2");
    assertEquals(
        log.get(3L).evalAccuracy(),
        store.manifest(4).metrics().getEvalAccuracy(),
        1e-6,
        "6 digits");
    assertEquals(
        log.get(3L).evalLoss(),
        store.manifest(4).metrics().getEvalLoss(),
        1e-5 * log.get(3L).evalLoss(),
        "6 digits");
    assertEquals(
        log.get(6L).evalAccuracy(),
        store.manifest(6).metrics().getEvalAccuracy(),
        1e-6,
        "6 digits");
    var raw = JSON.readTree(new RunLayout(tmp).manifest(6).toFile());
    assertTrue(raw.get("metrics").has("saveSeconds"), raw.toString());
  }

  @Test
  void aManifestWithoutMetricsStillLoads() throws IOException {
    var manifest =
        """
        {"format":"stepwise-checkpoint","format_version":2,"step":3,"world_size":1,
         "created":"2025-01-01T00:00:00Z","components":{},"timeline":0}
        """;
    var loaded = JSON.readValue(manifest, Manifest.class);
    assertEquals(3, loaded.step());
    assertNull(loaded.metrics());
  }

  @Test
  void aResumeDropsTheAbandonedStepsSoTheLogIsTheRunsHistory() throws IOException {
    SftTrainerTest.train(tmp, "--max-steps", "6", "--ckpt.interval", "3");
    var first = byStep(tmp);
    var firstLines = Files.readAllLines(new RunLayout(tmp).metricsLog());
    assertEquals(6, firstLines.size());

    // Roll back to step 3 and train on to 8: steps 4..6 are trained again, then 7 and 8.
    SftTrainerTest.train(tmp, "--max-steps", "8", "--ckpt.resume-step", "3");
    var lines = Files.readAllLines(new RunLayout(tmp).metricsLog());
    var steps = new ArrayList<Long>();
    for (var line : lines) {
      steps.add(JSON.readTree(line).get("step").asLong());
    }
    assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L), steps, String.join("\n", lines));
    assertEquals(firstLines.subList(0, 3), lines.subList(0, 3), "the kept history is untouched");
    var again = byStep(tmp);
    for (var step = 4L; step <= 6; step++) {
      assertEquals(first.get(step).loss(), again.get(step).loss(), "exact resume, step " + step);
      assertEquals(first.get(step).samples(), again.get(step).samples());
      assertEquals(first.get(step).tokens(), again.get(step).tokens());
    }
  }

  @Test
  void metricsAreServedWhileTraining() throws IOException {
    int port;
    try (var socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    var scraped = new ArrayList<String>();
    var client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    // Scraped from inside the run: when the manifest of step 4 is written (a synchronous save).
    CheckpointWriter.FileListener scrape =
        path -> {
          if (!path.getFileName().toString().equals(RunLayout.MANIFEST) || !scraped.isEmpty()) {
            return;
          }
          try {
            var request =
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
                    .timeout(Duration.ofSeconds(5))
                    .build();
            scraped.add(client.send(request, HttpResponse.BodyHandlers.ofString()).body());
          } catch (IOException | InterruptedException e) {
            throw new IllegalStateException(e);
          }
        };
    SftTrainerTest.train(
        tmp, scrape, "--max-steps", "5", "--ckpt.interval", "4", "--metrics.port", "" + port);
    assertEquals(1, scraped.size());
    var body = scraped.get(0);
    assertTrue(body.contains("stepwise_step{role=\"trainer\"} 4\n"), body);
    assertTrue(body.contains("stepwise_loss{role=\"trainer\"} "), body);
    assertTrue(body.contains("stepwise_tokens_per_second{role=\"trainer\"} "), body);
    assertTrue(body.contains("stepwise_checkpoint_stall_seconds"), body);
    try (var socket = new ServerSocket(port)) {
      assertEquals(port, socket.getLocalPort(), "the port is released when the run ends");
    }
  }
}
