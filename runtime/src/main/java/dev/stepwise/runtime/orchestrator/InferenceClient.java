package dev.stepwise.runtime.orchestrator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;

/**
 * The orchestrator's side of the inference API ({@code /v1/completions}, {@code /update_weights}).
 */
public final class InferenceClient {

  private static final ObjectMapper JSON = new ObjectMapper();

  /** One completion as the orchestrator uses it. */
  public record Completion(long[] tokens, float[] logProbs, String text) {}

  /** A completions response: the choices in order and which weights produced them. */
  public record Completions(List<Completion> choices, Long weightsStep) {}

  private final String baseUrl;
  private final Duration timeout;
  private final HttpClient http;

  public InferenceClient(String baseUrl, Duration timeout) {
    this.baseUrl = baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
    this.timeout = timeout;
    this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
  }

  public String baseUrl() {
    return baseUrl;
  }

  /** Whether {@code /health} answers 200. */
  public boolean healthy() {
    try {
      var response =
          http.send(
              HttpRequest.newBuilder(URI.create(baseUrl + "/health"))
                  .timeout(timeout)
                  .GET()
                  .build(),
              HttpResponse.BodyHandlers.discarding());
      return response.statusCode() == 200;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /** Asks inference to load the published weights of {@code step}. */
  public void updateWeights(long step) {
    post("/update_weights", JSON.createObjectNode().put("step", step));
  }

  public Completions complete(
      List<long[]> prompts, int n, int maxTokens, double temperature, long seed) {
    var body = JSON.createObjectNode();
    var prompt = body.putArray("prompt");
    for (var p : prompts) {
      var ids = prompt.addArray();
      for (var id : p) {
        ids.add(id);
      }
    }
    body.put("n", n);
    body.put("max_tokens", maxTokens);
    body.put("temperature", temperature);
    body.put("seed", seed);
    var response = post("/v1/completions", body);
    var choices = response.path("choices");
    var out = new java.util.ArrayList<Completion>(choices.size());
    for (var choice : choices) {
      var ids = choice.path("token_ids");
      var lps = choice.path("logprobs").path("token_logprobs");
      if (ids.size() != lps.size()) {
        throw new InferenceException(
            "choice " + out.size() + ": token_ids and logprobs differ in length");
      }
      var tokens = new long[ids.size()];
      var logProbs = new float[ids.size()];
      for (var i = 0; i < tokens.length; i++) {
        tokens[i] = ids.get(i).asLong();
        logProbs[i] = (float) lps.get(i).asDouble();
      }
      out.add(new Completion(tokens, logProbs, choice.path("text").asText()));
    }
    if (out.size() != prompts.size() * n) {
      throw new InferenceException(
          "asked for " + prompts.size() * n + " completions, got " + out.size());
    }
    var step = response.get("weights_step");
    return new Completions(out, step == null || step.isNull() ? null : step.asLong());
  }

  private JsonNode post(String path, JsonNode body) {
    try {
      var request =
          HttpRequest.newBuilder(URI.create(baseUrl + path))
              .timeout(timeout)
              .header("Content-Type", "application/json")
              .POST(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body)))
              .build();
      var response = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
      JsonNode json;
      try {
        json = JSON.readTree(response.body());
      } catch (IOException e) {
        json = JSON.createObjectNode();
      }
      if (response.statusCode() != 200) {
        throw new InferenceException(
            "POST "
                + baseUrl
                + path
                + " answered "
                + response.statusCode()
                + ": "
                + json.path("error").path("message").asText(new String(response.body())));
      }
      return json;
    } catch (IOException e) {
      throw new InferenceException("POST " + baseUrl + path + " failed: " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InferenceException("interrupted during POST " + baseUrl + path, e);
    }
  }

  /** Inference could not be reached or refused a request. */
  public static final class InferenceException extends RuntimeException {
    public InferenceException(String message) {
      super(message);
    }

    public InferenceException(String message, Throwable cause) {
      super(message, cause);
    }
  }
}
