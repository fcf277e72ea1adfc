package dev.stepwise.runtime.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stepwise.runtime.checkpoint.PolicyWeights;
import dev.stepwise.runtime.checkpoint.RunLayout;
import dev.stepwise.runtime.checkpoint.Timeline;
import dev.stepwise.runtime.config.CommandLine;
import dev.stepwise.runtime.config.InferenceConfig;
import dev.stepwise.runtime.model.ByteTokenizer;
import dev.stepwise.runtime.model.Transformer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.bytedeco.pytorch.Device;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The inference API: completions, reproducible sampling, and its error paths. */
class InferenceServerTest {

  private static final String[] TINY = {
    "--model.d-model", "16", "--model.n-layers", "1", "--model.n-heads", "2",
    "--model.d-ff", "32", "--model.max-seq-len", "24", "--server.port", "0",
    "--server.host", "127.0.0.1", "--server.max-completions", "64"
  };
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @TempDir static Path runDir;
  static InferenceServer server;
  static String base;
  static InferenceConfig config;

  @BeforeAll
  static void start() throws Exception {
    var args = new java.util.ArrayList<>(List.of(TINY));
    args.addAll(List.of("--output-dir", runDir.toString()));
    config = CommandLine.parse(InferenceConfig.class, args).config();
    server = new InferenceServer(config);
    base = "http://127.0.0.1:" + server.start();
    var layout = new RunLayout(runDir);
    for (var step : new long[] {1, 2}) {
      var model =
          new Transformer(config.model(), ByteTokenizer.VOCAB_SIZE, new Device("cpu"), step);
      PolicyWeights.publish(layout, step, Timeline.FRESH, model.parameters());
    }
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  record Reply(int status, JsonNode body) {}

  static Reply post(String path, String body) throws Exception {
    var response =
        HTTP.send(
            HttpRequest.newBuilder(URI.create(base + path))
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    return new Reply(response.statusCode(), JSON.readTree(response.body()));
  }

  static void assertRefused(int status, String param, Reply reply) {
    assertEquals(status, reply.status(), reply.body().toString());
    assertEquals(
        param, reply.body().path("error").path("param").textValue(), reply.body().toString());
    assertTrue(!reply.body().path("error").path("message").asText().isEmpty());
  }

  @Test
  void completionsAreReproducibleForASeedAndNameTheirWeights() throws Exception {
    assertEquals(200, post("/update_weights", "{\"step\": 1}").status());
    var request = "{\"prompt\": [\"abc\", \"hello\"], \"n\": 3, \"max_tokens\": 6, \"seed\": 7}";
    var a = post("/v1/completions", request);
    var b = post("/v1/completions", request);
    assertEquals(200, a.status(), a.body().toString());
    assertEquals(6, a.body().path("choices").size());
    assertEquals(1, a.body().path("weights_step").asLong());
    assertEquals(a.body().path("choices"), b.body().path("choices"));
    var c = post("/v1/completions", request.replace("\"seed\": 7", "\"seed\": 8"));
    assertNotEquals(a.body().path("choices"), c.body().path("choices"));
    var choice = a.body().path("choices").get(0);
    assertEquals(
        choice.path("token_ids").size(), choice.path("logprobs").path("token_logprobs").size());
  }

  @Test
  void badRequestsNameTheField() throws Exception {
    assertRefused(400, "prompt", post("/v1/completions", "{\"n\": 1}"));
    assertRefused(400, "prompt", post("/v1/completions", "{\"prompt\": [999]}"));
    assertRefused(400, "n", post("/v1/completions", "{\"prompt\": \"ab\", \"n\": 0}"));
    assertRefused(400, "n", post("/v1/completions", "{\"prompt\": \"ab\", \"n\": 65}"));
    assertRefused(
        400, "max_tokens", post("/v1/completions", "{\"prompt\": \"ab\", \"max_tokens\": 30}"));
    assertRefused(
        400, "max_tokens", post("/v1/completions", "{\"prompt\": \"ab\", \"max_tokens\": \"x\"}"));
    assertRefused(
        400, "temperature", post("/v1/completions", "{\"prompt\": \"ab\", \"temperature\": -1}"));
    assertRefused(400, "seed", post("/v1/completions", "{\"prompt\": \"ab\", \"seed\": 1.5}"));
    assertRefused(
        400, "ignore_eos", post("/v1/completions", "{\"prompt\": \"ab\", \"ignore_eos\": 1}"));
    assertRefused(400, null, post("/v1/completions", "{not json"));
    assertRefused(400, "step", post("/update_weights", "{\"step\": \"latest\"}"));
    assertRefused(404, null, post("/v2/nothing", "{}"));
    var get =
        HTTP.send(
            HttpRequest.newBuilder(URI.create(base + "/v1/completions")).GET().build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(405, get.statusCode());
  }

  @Test
  void aMissingOrHalfWrittenStepIsRefusedAndTheOldWeightsKeepServing() throws Exception {
    assertEquals(200, post("/update_weights", "{\"step\": 2}").status());
    var before = post("/v1/completions", "{\"prompt\": \"abc\", \"max_tokens\": 5, \"seed\": 3}");

    assertRefused(404, "step", post("/update_weights", "{\"step\": 9}"));
    // A half-written step: the directory exists, the marker does not.
    var layout = new RunLayout(runDir);
    Files.createDirectories(layout.weightsDir(5));
    Files.write(layout.weightsDir(5).resolve(PolicyWeights.FILE), new byte[] {1, 2, 3});
    assertRefused(409, "step", post("/update_weights", "{\"step\": 5}"));
    // A published step whose file was damaged afterwards.
    var model = new Transformer(config.model(), ByteTokenizer.VOCAB_SIZE, new Device("cpu"), 6);
    PolicyWeights.publish(layout, 6, Timeline.FRESH, model.parameters());
    var file = layout.weightsDir(6).resolve(PolicyWeights.FILE);
    var bytes = Files.readAllBytes(file);
    bytes[bytes.length - 1] ^= 1;
    Files.write(file, bytes);
    assertRefused(409, "step", post("/update_weights", "{\"step\": 6}"));

    var after = post("/v1/completions", "{\"prompt\": \"abc\", \"max_tokens\": 5, \"seed\": 3}");
    assertEquals(2, after.body().path("weights_step").asLong());
    assertEquals(before.body().path("choices"), after.body().path("choices"));
  }
}
