package dev.stepwise.runtime.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stepwise.runtime.config.CommandLine;
import dev.stepwise.runtime.config.InferenceConfig;
import dev.stepwise.runtime.model.HfTokenizer;
import dev.stepwise.runtime.model.HfWeights;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The inference server on a Hugging Face model: {@code /v1/models}, and greedy {@code
 * /v1/completions} and {@code /v1/chat/completions} through the KV cache, checked against a greedy
 * loop that recomputes the whole sequence each token.
 */
class HfInferenceTest {

  static final Path MODEL = Path.of("src/test/resources/hf/qwen3");
  static final ObjectMapper JSON = new ObjectMapper();
  static final HttpClient HTTP = HttpClient.newHttpClient();

  @TempDir static Path runDir;
  static InferenceServer server;
  static String base;

  @BeforeAll
  static void start() throws Exception {
    var config =
        CommandLine.parse(
                InferenceConfig.class,
                List.of(
                    "--model.hf",
                    MODEL.toString(),
                    "--server.port",
                    "0",
                    "--server.host",
                    "127.0.0.1",
                    "--output-dir",
                    runDir.toString()))
            .config();
    server = new InferenceServer(config);
    base = "http://127.0.0.1:" + server.start();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  static JsonNode call(String method, String path, String body) throws Exception {
    var builder = HttpRequest.newBuilder(URI.create(base + path));
    builder =
        body == null ? builder.GET() : builder.POST(HttpRequest.BodyPublishers.ofString(body));
    var response = HTTP.send(builder.build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, response.statusCode(), response.body());
    return JSON.readTree(response.body());
  }

  /** Greedy continuation without a cache: the full sequence through the model each token. */
  static long[] greedyWithoutCache(long[] prompt, int maxNew, long stop) {
    var model = HfWeights.load(MODEL, new Device("cpu"), 0, false);
    var out = new ArrayList<Long>();
    try (var noGrad = new NoGradGuard()) {
      var seq = torch.tensor(prompt).reshape(1, prompt.length);
      for (var i = 0; i < maxNew; i++) {
        var logits = model.logits(seq);
        var next = logits.select(1, seq.size(1) - 1).argmax(new LongOptional(1), true);
        var id = next.item_long();
        out.add(id);
        if (id == stop) {
          break;
        }
        seq = torch.cat(new TensorVector(seq, next), 1);
      }
    }
    return out.stream().mapToLong(Long::longValue).toArray();
  }

  @Test
  void modelsListsTheDirectory() throws Exception {
    var models = call("GET", "/v1/models", null);
    assertEquals("list", models.get("object").asText());
    assertEquals("qwen3", models.get("data").get(0).get("id").asText());
    assertEquals(128, models.get("data").get(0).get("max_model_len").asInt());
  }

  @Test
  void chatAndCompletionsDecodeGreedilyLikeTheUncachedModel() throws Exception {
    var messages = List.of(new HfTokenizer.Message("user", "héllo wörld"));
    long[] prompt;
    long stop;
    try (var tokenizer = HfTokenizer.load(MODEL, 320)) {
      prompt = tokenizer.chat(messages);
      stop = tokenizer.endOfAnswer();
    }
    var want = greedyWithoutCache(prompt, 12, stop);
    var body = JSON.createObjectNode();
    var ids = body.putArray("prompt");
    for (var id : prompt) {
      ids.add(id);
    }
    body.put("max_tokens", 12);
    body.put("temperature", 0);
    var completion = call("POST", "/v1/completions", body.toString());
    var got = new ArrayList<Long>();
    completion.get("choices").get(0).get("token_ids").forEach(t -> got.add(t.asLong()));
    assertEquals(
        java.util.Arrays.stream(want).boxed().toList(), got, "KV-cache decoding = recompute");

    var chat =
        call(
            "POST",
            "/v1/chat/completions",
            "{\"messages\":[{\"role\":\"user\",\"content\":\"héllo wörld\"}],"
                + "\"max_tokens\":12,\"temperature\":0,\"n\":2}");
    assertEquals("chat.completion", chat.get("object").asText());
    assertEquals(2, chat.get("choices").size());
    var reply = chat.get("choices").get(0).get("message");
    assertEquals("assistant", reply.get("role").asText());
    assertEquals(
        completion.get("choices").get(0).get("text").asText(), reply.get("content").asText());
    assertEquals(prompt.length * 2L, chat.get("usage").get("prompt_tokens").asLong());
  }

  @Test
  void chatWithoutMessagesIsRefused() throws Exception {
    var response =
        HTTP.send(
            HttpRequest.newBuilder(URI.create(base + "/v1/chat/completions"))
                .POST(HttpRequest.BodyPublishers.ofString("{\"messages\":[]}"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(400, response.statusCode());
    assertTrue(response.body().contains("messages"), response.body());
  }
}
