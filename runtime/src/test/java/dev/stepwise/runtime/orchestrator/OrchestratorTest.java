package dev.stepwise.runtime.orchestrator;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.stepwise.runtime.checkpoint.AtomicFiles;
import dev.stepwise.runtime.checkpoint.CheckpointParts;
import dev.stepwise.runtime.checkpoint.CheckpointWriter;
import dev.stepwise.runtime.checkpoint.PublishedDir;
import dev.stepwise.runtime.checkpoint.Rollouts;
import dev.stepwise.runtime.checkpoint.RunLayout;
import dev.stepwise.runtime.checkpoint.Timeline;
import dev.stepwise.runtime.config.CommandLine;
import dev.stepwise.runtime.config.OrchestratorConfig;
import dev.stepwise.runtime.model.ByteTokenizer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The orchestrator against a fake inference server and a fake trainer (no libtorch). */
class OrchestratorTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path runDir;
  private FakeInference inference;

  /** Answers every prompt with its reversed text; records the calls it gets. */
  static final class FakeInference implements AutoCloseable {
    final HttpServer server;
    final List<String> calls = new ArrayList<>();
    volatile Long weights;

    FakeInference() throws IOException {
      server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
      server.createContext("/health", ex -> reply(ex, "{\"status\":\"ok\"}"));
      server.createContext(
          "/update_weights",
          ex -> {
            var step = JSON.readTree(ex.getRequestBody().readAllBytes()).path("step").asLong();
            weights = step;
            record("update_weights " + step);
            reply(ex, "{\"step\":" + step + "}");
          });
      server.createContext(
          "/v1/completions",
          ex -> {
            var body = JSON.readTree(ex.getRequestBody().readAllBytes());
            record("completions with " + weights);
            var out = JSON.createObjectNode();
            out.put("weights_step", weights);
            var choices = out.putArray("choices");
            for (var prompt : body.path("prompt")) {
              var ids = new long[prompt.size() - 2];
              for (var i = 0; i < ids.length; i++) {
                ids[i] = prompt.get(i + 1).asLong();
              }
              var text = new StringBuilder(ByteTokenizer.decode(ids, 0)).reverse().toString();
              for (var j = 0; j < body.path("n").asInt(); j++) {
                var choice = choices.addObject();
                var tokens = choice.putArray("token_ids");
                var lps = choice.putObject("logprobs").putArray("token_logprobs");
                // The j-th completion drops j characters: rewards differ within a group.
                for (var id : ByteTokenizer.encode(text.substring(Math.min(j, text.length())))) {
                  tokens.add(id);
                  lps.add(-0.25f);
                }
                tokens.add(ByteTokenizer.EOS);
                lps.add(-0.5f);
              }
            }
            reply(ex, JSON.writeValueAsString(out));
          });
      server.start();
    }

    synchronized void record(String call) {
      calls.add(call);
    }

    synchronized List<String> calls() {
      return List.copyOf(calls);
    }

    String url() {
      return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    private static void reply(com.sun.net.httpserver.HttpExchange ex, String json)
        throws IOException {
      var bytes = json.getBytes(java.nio.charset.StandardCharsets.UTF_8);
      ex.sendResponseHeaders(200, bytes.length);
      try (var out = ex.getResponseBody()) {
        out.write(bytes);
      }
    }

    @Override
    public void close() {
      server.stop(0);
    }
  }

  @AfterEach
  void stop() {
    if (inference != null) {
      inference.close();
    }
  }

  private OrchestratorConfig config(String... flags) {
    var args =
        new ArrayList<>(
            List.of(
                "--output-dir", runDir.toString(),
                "--batch-size", "4",
                "--rollouts-per-problem", "2",
                "--wait-timeout", "30",
                "--client.base-url", inference.url()));
    args.addAll(List.of(flags));
    return CommandLine.parse(OrchestratorConfig.class, args).config();
  }

  private CompletableFuture<Orchestrator.Result> start(OrchestratorConfig config) {
    var client = new InferenceClient(config.client().baseUrl(), Duration.ofSeconds(10));
    return CompletableFuture.supplyAsync(() -> new Orchestrator(config, client).run());
  }

  /** What the trainer does for the orchestrator: publish the weights of a step. */
  private void publishWeights(long step, long origin) throws IOException {
    var files = new LinkedHashMap<String, AtomicFiles.Body>();
    files.put(
        "model.safetensors", out -> AtomicFiles.writeFully(out, ByteBuffer.wrap(new byte[] {1})));
    PublishedDir.publish(
        new RunLayout(runDir).weightsDir(step), step, new Timeline(0, origin), files);
  }

  private boolean rolloutsPublished(long step) {
    return PublishedDir.marker(new RunLayout(runDir).rolloutsDir(step)).isPresent();
  }

  private Rollouts rollouts(long step) throws IOException {
    var layout = new RunLayout(runDir);
    return Rollouts.read(layout, PublishedDir.marker(layout.rolloutsDir(step)).orElseThrow());
  }

  @Test
  void staysAtMostAsyncLevelStepsAheadOfTheTrainer() throws Exception {
    inference = new FakeInference();
    var run = start(config("--max-steps", "5", "--async-level", "1"));
    publishWeights(0, 0);
    // Steps 1 and 2 are sampled with the initial weights; step 3 needs the trainer's step 1.
    await().atMost(Duration.ofSeconds(20)).until(() -> rolloutsPublished(2));
    await()
        .during(Duration.ofMillis(600))
        .atMost(Duration.ofSeconds(5))
        .until(() -> !rolloutsPublished(3));
    publishWeights(1, 0);
    await().atMost(Duration.ofSeconds(20)).until(() -> rolloutsPublished(3));
    await()
        .during(Duration.ofMillis(600))
        .atMost(Duration.ofSeconds(5))
        .until(() -> !rolloutsPublished(4));
    publishWeights(2, 0);
    publishWeights(3, 0);
    var result = run.get(30, java.util.concurrent.TimeUnit.SECONDS);

    assertEquals(5, result.progress().step());
    for (var n = 1; n <= 5; n++) {
      assertEquals(Math.max(n - 2, 0), rollouts(n).weightsStep(), "weights of step " + n);
    }
    assertEquals(
        List.of(
            "update_weights 0",
            "completions with 0",
            "completions with 0",
            "update_weights 1",
            "completions with 1",
            "update_weights 2",
            "completions with 2",
            "update_weights 3",
            "completions with 3"),
        inference.calls());
    // Rewards and group-relative advantages: the exact answer scores 1, advantages sum to 0.
    var samples = rollouts(1).samples();
    assertEquals(1.0, samples.get(0).reward(), 0.0);
    assertTrue(samples.get(1).reward() < 1.0);
    assertEquals(0.0, samples.get(0).advantage() + samples.get(1).advantage(), 1e-12);
  }

  @Test
  void resumeReloadsProgressAndPushesTheScheduledWeightsBeforeAskingForRollouts() throws Exception {
    inference = new FakeInference();
    for (var step = 0; step <= 3; step++) {
      publishWeights(step, 0);
    }
    var first =
        start(config("--max-steps", "4", "--ckpt.interval", "2"))
            .get(30, java.util.concurrent.TimeUnit.SECONDS);
    var straight = new byte[5][];
    var layout = new RunLayout(runDir);
    for (var n = 3; n <= 4; n++) {
      straight[n] = Files.readAllBytes(layout.rolloutsDir(n).resolve(Rollouts.FILE));
    }
    // The trainer completes checkpoint 2: its part, then the manifest covering both parts.
    var writer =
        new CheckpointWriter(
            layout,
            CheckpointWriter.FileListener.NONE,
            CheckpointParts.awaiting(
                layout, RunLayout.ORCHESTRATOR, Timeline.FRESH, Duration.ofSeconds(5)));
    writer.write(
        2,
        1,
        Map.of(
            RunLayout.TRAINER,
            List.of(
                new CheckpointWriter.ComponentFile(
                    "model.bin",
                    out -> AtomicFiles.writeFully(out, ByteBuffer.wrap(new byte[] {7}))))));
    inference.close();

    inference = new FakeInference();
    var resumed =
        start(config("--max-steps", "4", "--ckpt.interval", "2", "--ckpt.resume-step", "2"))
            .get(30, java.util.concurrent.TimeUnit.SECONDS);

    // async-level 1: step 3 is sampled with the weights of step 1, as in the uninterrupted run.
    assertEquals("update_weights 1", inference.calls().get(0));
    assertEquals("completions with 1", inference.calls().get(1));
    assertEquals(first.progress(), resumed.progress());
    assertEquals(2, resumed.resumedFrom());
    for (var n = 3; n <= 4; n++) {
      assertArrayEquals(
          straight[n], Files.readAllBytes(layout.rolloutsDir(n).resolve(Rollouts.FILE)));
      assertEquals(2, PublishedDir.marker(layout.rolloutsDir(n)).orElseThrow().origin());
    }
  }
}
