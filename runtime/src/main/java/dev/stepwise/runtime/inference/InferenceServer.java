package dev.stepwise.runtime.inference;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.stepwise.runtime.checkpoint.CheckpointException;
import dev.stepwise.runtime.checkpoint.ModelWeights;
import dev.stepwise.runtime.checkpoint.PolicyWeights;
import dev.stepwise.runtime.checkpoint.RunLayout;
import dev.stepwise.runtime.config.InferenceConfig;
import dev.stepwise.runtime.model.ByteTokenizer;
import dev.stepwise.runtime.model.Devices;
import dev.stepwise.runtime.model.GpuMemory;
import dev.stepwise.runtime.model.HfTokenizer;
import dev.stepwise.runtime.model.HfWeights;
import dev.stepwise.runtime.model.Policy;
import dev.stepwise.runtime.model.TextCodec;
import dev.stepwise.runtime.model.Threads;
import dev.stepwise.runtime.model.Transformer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Function;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The stateless inference server: OpenAI-compatible {@code GET /v1/models}, {@code POST
 * /v1/completions} and {@code POST /v1/chat/completions} (the tokenizer's ChatML template; the
 * byte-level model takes one user message), {@code GET /health}, and {@code POST /update_weights
 * {"step": n}} (or prime-rl's {@code weight_dir}, SGLang's {@code model_path}: {@link
 * WeightsRequest}), which loads {@code weights/step_<n>} from the run directory. A failed update
 * (missing, unpublished or corrupt weights) changes nothing: the old weights keep serving. One
 * model, so requests are served one at a time; generation runs through the model's KV cache where
 * it has one (the HF decoders).
 */
public final class InferenceServer implements AutoCloseable {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Logger LOG = LoggerFactory.getLogger(InferenceServer.class);

  private final InferenceConfig config;
  private final RunLayout layout;
  private final Object modelLock = new Object();
  private Policy model;
  private TextCodec codec;
  private HfTokenizer tokenizer;
  private Function<String, long[]> textPrompt;
  private int maxSeqLen;
  private String modelId;
  private Device device;
  private volatile Long weightsStep;
  private HttpServer server;
  private ExecutorService executor;

  public InferenceServer(InferenceConfig config) {
    this.config = config;
    this.layout = new RunLayout(Path.of(config.outputDir()));
  }

  /** Builds the model and starts listening; returns the port (useful with port 0). */
  public int start() throws IOException {
    Threads.pin(config.threads());
    device = Devices.of(config.device());
    if (config.model().isHf()) {
      var dir = Path.of(config.model().hf());
      var hf = HfWeights.load(dir, device, config.seed(), config.model().randomInit());
      var hfTokenizer = HfTokenizer.load(dir, hf.vocabSize());
      hf.castWeightsOnce();
      model = hf;
      tokenizer = hfTokenizer;
      codec = hfTokenizer;
      textPrompt = text -> hfTokenizer.encode(text, true);
      maxSeqLen = hf.config().maxPositionEmbeddings();
      modelId = dir.toAbsolutePath().normalize().getFileName().toString();
    } else {
      model = new Transformer(config.model(), ByteTokenizer.VOCAB_SIZE, device, config.seed());
      codec = ByteTokenizer.CODEC;
      textPrompt = ByteTokenizer::prompt;
      maxSeqLen = config.model().maxSeqLen();
      modelId = "stepwise";
    }
    server =
        HttpServer.create(
            new InetSocketAddress(config.server().host(), config.server().port()), 64);
    executor = Executors.newFixedThreadPool(4);
    server.setExecutor(executor);
    server.createContext("/health", ex -> handle(ex, "GET", this::health));
    server.createContext("/v1/models", ex -> handle(ex, "GET", this::models));
    server.createContext("/v1/completions", ex -> handle(ex, "POST", this::completions));
    server.createContext("/v1/chat/completions", ex -> handle(ex, "POST", this::chatCompletions));
    server.createContext("/update_weights", ex -> handle(ex, "POST", this::updateWeights));
    server.createContext(
        "/",
        ex ->
            handle(
                ex,
                null,
                body -> {
                  throw new BadRequest(
                      404, null, "no such endpoint: " + ex.getRequestURI().getPath());
                }));
    server.start();
    var port = server.getAddress().getPort();
    LOG.info(
        String.format(
            "inference: listening on %s:%d | %,d parameters | run directory %s",
            config.server().host(), port, model.parameterCount(), layout.root().toAbsolutePath()));
    return port;
  }

  public Long weightsStep() {
    return weightsStep;
  }

  @FunctionalInterface
  private interface Handler {
    ObjectNode handle(JsonNode body) throws IOException;
  }

  private void handle(HttpExchange exchange, String method, Handler handler) throws IOException {
    int status = 200;
    ObjectNode response;
    try {
      if (method != null && !method.equals(exchange.getRequestMethod())) {
        exchange.getResponseHeaders().add("Allow", method);
        throw new BadRequest(
            405, null, exchange.getRequestURI().getPath() + " accepts " + method + " only");
      }
      JsonNode body = null;
      if ("POST".equals(method)) {
        var bytes = exchange.getRequestBody().readAllBytes();
        try {
          body = JSON.readTree(bytes);
        } catch (JsonProcessingException e) {
          throw new BadRequest(
              400, null, "the request body is not valid JSON: " + e.getOriginalMessage());
        }
      }
      response = handler.handle(body);
    } catch (BadRequest e) {
      status = e.status();
      response =
          error(
              e.getMessage(), e.param(), status >= 500 ? "server_error" : "invalid_request_error");
    } catch (RuntimeException e) {
      status = 500;
      response = error(String.valueOf(e.getMessage()), null, "server_error");
      LOG.warn("inference: " + exchange.getRequestURI().getPath() + " failed: " + e);
    }
    var bytes = JSON.writeValueAsBytes(response);
    exchange.getResponseHeaders().set("Content-Type", "application/json");
    exchange.sendResponseHeaders(status, bytes.length);
    try (var out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }

  private static ObjectNode error(String message, String param, String type) {
    var root = JSON.createObjectNode();
    var error = root.putObject("error");
    error.put("message", message);
    error.put("type", type);
    error.put("param", param);
    error.putNull("code");
    return root;
  }

  private ObjectNode health(JsonNode body) {
    var out = JSON.createObjectNode();
    out.put("status", "ok");
    out.put("weights_step", weightsStep);
    return out;
  }

  private ObjectNode updateWeights(JsonNode body) {
    var request = WeightsRequest.parse(body, layout);
    var step = request.step();
    var started = System.nanoTime();
    if (!Files.isDirectory(layout.weightsDir(step))) {
      throw new BadRequest(
          404, request.field(), "no weights for step " + step + " in " + layout.weightsRoot());
    }
    synchronized (modelLock) {
      try (var scope = new PointerScope()) {
        var tensors = PolicyWeights.read(layout, step);
        ModelWeights.copyInto(model.parameters(), tensors, layout.weightsDir(step).toString());
      } catch (CheckpointException e) {
        throw new BadRequest(
            409, request.field(), e.getMessage() + "; still serving step " + weightsStep);
      }
      weightsStep = step;
    }
    LOG.atInfo()
        .addKeyValue("step", step)
        .log(
            String.format(
                "inference: loaded weights of step %d in %.0f ms",
                step, (System.nanoTime() - started) / 1e6));
    var out = JSON.createObjectNode();
    out.put("step", step);
    return out;
  }

  private ObjectNode models(JsonNode body) {
    var out = JSON.createObjectNode();
    out.put("object", "list");
    var entry = out.putArray("data").addObject();
    entry.put("id", modelId);
    entry.put("object", "model");
    entry.put("created", 0);
    entry.put("owned_by", "stepwise");
    entry.put("max_model_len", maxSeqLen);
    entry.put("weights_step", weightsStep);
    return out;
  }

  /** The fields every completion response starts with (OpenAI's, plus the weights' step). */
  private ObjectNode response(
      String idPrefix, String object, CompletionRequest request, Generated generated) {
    var out = JSON.createObjectNode();
    out.put("id", idPrefix + Long.toHexString(request.seed()));
    out.put("object", object);
    out.put("created", System.currentTimeMillis() / 1000);
    out.put("model", servedName(generated.step()));
    out.put("weights_step", generated.step());
    return out;
  }

  private ObjectNode completions(JsonNode body) {
    var request = parse(body);
    var generated = generate(request);
    var out = response("cmpl-", "text_completion", request, generated);
    var choices = out.putArray("choices");
    for (var i = 0; i < generated.completions().size(); i++) {
      var c = generated.completions().get(i);
      var choice = choices.addObject();
      choice.put("index", i);
      choice.put("text", codec.decode(c.tokens(), 0));
      choice.put("finish_reason", c.stopped() ? "stop" : "length");
      var ids = choice.putArray("token_ids");
      var logprobs = choice.putObject("logprobs");
      var tokenLogprobs = logprobs.putArray("token_logprobs");
      for (var k = 0; k < c.tokens().length; k++) {
        ids.add(c.tokens()[k]);
        tokenLogprobs.add(c.logProbs()[k]);
      }
    }
    out.set("usage", usage(request, generated));
    return out;
  }

  /**
   * {@code POST /v1/chat/completions}: {@code messages} through the chat template, then sampled
   * like a completion; each choice's {@code message} is the assistant's reply.
   */
  private ObjectNode chatCompletions(JsonNode body) {
    if (body == null || !body.isObject()) {
      throw new BadRequest(400, null, "the request body must be a JSON object");
    }
    var messages = body.get("messages");
    if (messages == null || !messages.isArray() || messages.isEmpty()) {
      throw new BadRequest(400, "messages", "messages must be a non-empty list");
    }
    var parsed = new ArrayList<HfTokenizer.Message>();
    for (var i = 0; i < messages.size(); i++) {
      var m = messages.get(i);
      var role = m.path("role");
      var content = m.path("content");
      if (!role.isTextual() || !content.isTextual()) {
        throw new BadRequest(
            400, "messages", "messages[" + i + "] needs a string role and a string content");
      }
      parsed.add(new HfTokenizer.Message(role.asText(), content.asText()));
    }
    long[] prompt;
    if (tokenizer != null) {
      prompt = tokenizer.chat(parsed);
    } else if (parsed.size() == 1 && parsed.get(0).role().equals("user")) {
      prompt = ByteTokenizer.prompt(parsed.get(0).content());
    } else {
      throw new BadRequest(
          400, "messages", "the byte-level model's template holds exactly one user message");
    }
    var asCompletion = ((ObjectNode) body).deepCopy();
    asCompletion.remove("messages");
    var ids = asCompletion.putArray("prompt");
    for (var id : prompt) {
      ids.add(id);
    }
    var request = parse(asCompletion);
    var generated = generate(request);
    var out = response("chatcmpl-", "chat.completion", request, generated);
    var choices = out.putArray("choices");
    for (var i = 0; i < generated.completions().size(); i++) {
      var c = generated.completions().get(i);
      var choice = choices.addObject();
      choice.put("index", i);
      var message = choice.putObject("message");
      message.put("role", "assistant");
      message.put("content", codec.decode(c.tokens(), 0));
      choice.put("finish_reason", c.stopped() ? "stop" : "length");
    }
    out.set("usage", usage(request, generated));
    return out;
  }

  private CompletionRequest parse(JsonNode body) {
    return CompletionRequest.parse(
        body, config.server().maxCompletions(), maxSeqLen, textPrompt, model.vocabSize());
  }

  private String servedName(Long step) {
    return step == null ? modelId + "-init" : modelId + "-step-" + step;
  }

  private static ObjectNode usage(CompletionRequest request, Generated generated) {
    long promptTokens = 0;
    long completionTokens = 0;
    for (var i = 0; i < generated.completions().size(); i++) {
      promptTokens += request.prompts().get(i / request.n()).length;
      completionTokens += generated.completions().get(i).tokens().length;
    }
    var usage = JSON.createObjectNode();
    usage.put("prompt_tokens", promptTokens);
    usage.put("completion_tokens", completionTokens);
    usage.put("total_tokens", promptTokens + completionTokens);
    return usage;
  }

  /** Completions of a request and the weights step that produced them. */
  private record Generated(List<Sampler.Completion> completions, Long step) {}

  private Generated generate(CompletionRequest request) {
    var started = System.nanoTime();
    var rows = new ArrayList<Sampler.Row>();
    for (var p = 0; p < request.prompts().size(); p++) {
      for (var j = 0; j < request.n(); j++) {
        var index = (long) p * request.n() + j;
        rows.add(new Sampler.Row(request.prompts().get(p), Sampler.rowSeed(request.seed(), index)));
      }
    }
    List<Sampler.Completion> completions;
    Long servedStep;
    synchronized (modelLock) {
      try (var scope = new PointerScope()) {
        completions =
            Sampler.sample(
                model,
                codec,
                device,
                rows,
                request.maxTokens(),
                request.temperature(),
                request.ignoreEos());
      }
      servedStep = weightsStep;
    }
    long completionTokens = 0;
    for (var c : completions) {
      completionTokens += c.tokens().length;
    }
    var seconds = (System.nanoTime() - started) / 1e9;
    LOG.info(
        String.format(
            "inference: %d completions, %,d tokens in %.0f ms (%,.0f tok/s) with %s%s",
            completions.size(),
            completionTokens,
            seconds * 1000,
            completionTokens / seconds,
            servedStep == null ? "the initial weights" : "weights of step " + servedStep,
            GpuMemory.summary(device).map(memory -> " | " + memory).orElse("")));
    return new Generated(completions, servedStep);
  }

  @Override
  public void close() {
    if (server != null) {
      server.stop(0);
      executor.shutdownNow();
    }
  }
}
