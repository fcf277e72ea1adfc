package dev.stepwise.runtime.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stepwise.runtime.TestModels;
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
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Device;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code POST /update_weights} in prime-rl's ({@code weight_dir}) and SGLang's ({@code model_path})
 * shapes beside ours ({@code step}); a directory outside this run's {@code weights/} is refused
 * naming the field.
 */
class UpdateWeightsShapesTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

  @TempDir static Path runDir;
  @TempDir static Path elsewhere;
  static InferenceServer server;
  static String base;
  static RunLayout layout;

  @BeforeAll
  static void start() throws Exception {
    var args =
        new ArrayList<>(
            TestModels.around(
                List.of(),
                TestModels.tiny(24),
                List.of(
                    "--server.port",
                    "0",
                    "--server.host",
                    "127.0.0.1",
                    "--output-dir",
                    runDir.toString())));
    var config = CommandLine.parse(InferenceConfig.class, args).config();
    server = new InferenceServer(config);
    base = "http://127.0.0.1:" + server.start();
    layout = new RunLayout(runDir);
    for (var step : new long[] {1, 2, 3}) {
      var model =
          new Transformer(config.model(), ByteTokenizer.VOCAB_SIZE, new Device("cpu"), step);
      PolicyWeights.publish(layout, step, Timeline.FRESH, model.parameters());
    }
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  private record Reply(int status, JsonNode body) {}

  private static Reply post(String path, JsonNode body) throws Exception {
    var response =
        HTTP.send(
            HttpRequest.newBuilder(URI.create(base + path))
                .timeout(Duration.ofSeconds(30))
                .POST(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body)))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    return new Reply(response.statusCode(), JSON.readTree(response.body()));
  }

  private static Reply update(String key, String value) throws Exception {
    return post("/update_weights", JSON.createObjectNode().put(key, value));
  }

  private static long serving() throws Exception {
    var response =
        HTTP.send(
            HttpRequest.newBuilder(URI.create(base + "/health"))
                .timeout(Duration.ofSeconds(10))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    return JSON.readTree(response.body()).path("weights_step").asLong(-1);
  }

  private static void assertRefused(int status, String field, Reply reply) {
    assertEquals(status, reply.status(), reply.body().toString());
    assertEquals(field, reply.body().path("error").path("param").textValue());
    if (status == 400) {
      assertTrue(
          reply.body().path("error").path("message").asText().contains(field),
          "the message names " + field + ": " + reply.body());
    }
  }

  @Test
  void primeRlsWeightDirAndSglangsModelPathLoadThatStep() throws Exception {
    var ok = update("weight_dir", layout.weightsDir(2).toAbsolutePath().toString());
    assertEquals(200, ok.status(), ok.body().toString());
    assertEquals(2, ok.body().path("step").asLong());
    assertEquals(2, serving());

    var sglang =
        post(
            "/update_weights",
            JSON.createObjectNode()
                .put("model_path", layout.weightsDir(3).toString() + "/")
                .put("load_format", "auto"));
    assertEquals(200, sglang.status(), sglang.body().toString());
    assertEquals(3, serving());

    var relative = Path.of("").toAbsolutePath().relativize(layout.weightsDir(1).toAbsolutePath());
    assertEquals(200, update("weight_dir", relative.toString()).status());
    assertEquals(1, serving());
  }

  @Test
  void aDirectoryThatIsNotThisRunsPublishedWeightsIsRefusedNamingTheField() throws Exception {
    var before = serving();
    assertRefused(400, "weight_dir", update("weight_dir", elsewhere.resolve("step_2").toString()));
    assertRefused(400, "model_path", update("model_path", layout.weightsRoot().toString()));
    assertRefused(
        400, "weight_dir", update("weight_dir", layout.stepDir(2).toAbsolutePath().toString()));
    assertRefused(
        400,
        "weight_dir",
        update("weight_dir", layout.weightsRoot().resolve("latest").toAbsolutePath().toString()));
    assertRefused(
        400, "weight_dir", post("/update_weights", JSON.createObjectNode().put("weight_dir", 2)));
    assertRefused(
        400,
        "weight_dir",
        post(
            "/update_weights",
            JSON.createObjectNode()
                .put("step", 2)
                .put("weight_dir", layout.weightsDir(2).toString())));
    assertRefused(400, "step", post("/update_weights", JSON.createObjectNode()));
    // In the right place but never published: not found, named by the field it came in.
    assertRefused(404, "weight_dir", update("weight_dir", layout.weightsDir(9).toString()));
    Files.createDirectories(layout.weightsDir(7)); // half-written: no marker
    assertRefused(409, "model_path", update("model_path", layout.weightsDir(7).toString()));
    assertEquals(before, serving(), "a refused update changes nothing");
  }
}
