package dev.stepwise.runtime.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.api.CheckpointMetrics;
import dev.stepwise.runtime.checkpoint.Manifest;
import dev.stepwise.runtime.checkpoint.RunLayout;
import dev.stepwise.runtime.config.MetricsConfig;
import dev.stepwise.runtime.config.ProgressConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code /metrics} of the trainer and the orchestrator, scraped over HTTP. */
class PrometheusEndpointTest {

  @TempDir Path tmp;

  static int freePort() throws IOException {
    try (var socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  static HttpResponse<String> scrape(int port) throws IOException, InterruptedException {
    var client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    var request =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
            .timeout(Duration.ofSeconds(5))
            .build();
    return client.send(request, HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void theTrainerServesItsStepLossSpeedAndCheckpointFigures() throws Exception {
    var port = freePort();
    try (var metrics =
        TrainerMetrics.open(
            0,
            new RunLayout(tmp),
            100,
            0,
            -1,
            new ProgressConfig(30),
            new MetricsConfig(port),
            Map.of())) {
      var before = scrape(port).body();
      assertTrue(before.contains("# TYPE stepwise_step gauge\n"), before);
      assertTrue(before.contains("stepwise_progress_writes_total{role=\"trainer\"} 0\n"), before);
      assertTrue(!before.contains("stepwise_step{"), "no value before the first step\n" + before);

      metrics.step(new TrainerMetrics.Step(7, 56, 700, 0.25, 1e-3, 100, 0.5, null, null, 0.75));
      metrics.stalled(7, 0.125);
      var checkpoint = new CheckpointMetrics();
      checkpoint.setSaveSeconds(1.5);
      metrics.saved(
          new Manifest(
              Manifest.FORMAT,
              Manifest.FORMAT_VERSION,
              7,
              1,
              "now",
              Map.of(),
              0,
              null,
              checkpoint));

      var response = scrape(port);
      assertEquals(200, response.statusCode());
      assertEquals(
          PrometheusRegistry.CONTENT_TYPE, response.headers().firstValue("Content-Type").get());
      var body = response.body();
      for (var line :
          new String[] {
            "# HELP stepwise_step Training step last completed.",
            "stepwise_step{role=\"trainer\"} 7",
            "stepwise_loss{role=\"trainer\"} 0.25",
            "stepwise_mean_reward{role=\"trainer\"} 0.75",
            "stepwise_tokens_per_second{role=\"trainer\"} 200",
            "stepwise_checkpoint_save_seconds{role=\"trainer\"} 1.5",
            "stepwise_checkpoint_stall_seconds{role=\"trainer\"} 0.125",
            "stepwise_last_checkpoint_step{role=\"trainer\"} 7",
            "# TYPE stepwise_progress_writes_total counter",
          }) {
        assertTrue(body.contains(line + "\n"), line + " in\n" + body);
      }
    }
  }

  @Test
  void theOrchestratorServesItsStepRewardAndSpeed() throws Exception {
    var port = freePort();
    try (var metrics = OrchestratorMetrics.open(new MetricsConfig(port))) {
      metrics.step(3, 0.5, 1000);
      var body = scrape(port).body();
      assertTrue(body.contains("stepwise_step{role=\"orchestrator\"} 3\n"), body);
      assertTrue(body.contains("stepwise_mean_reward{role=\"orchestrator\"} 0.5\n"), body);
      assertTrue(body.contains("stepwise_tokens_per_second{role=\"orchestrator\"} 1000\n"), body);
    }
  }

  @Test
  void aTakenPortIsAClearErrorNamingTheFlag() throws IOException {
    try (var taken = new ServerSocket(0)) {
      var e =
          assertThrows(
              UncheckedIOException.class,
              () -> OrchestratorMetrics.open(new MetricsConfig(taken.getLocalPort())));
      assertTrue(
          e.getMessage().startsWith("--metrics.port " + taken.getLocalPort()), e.getMessage());
    }
  }
}
