package dev.stepwise.runtime.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The architecture fields of a Hugging Face {@code config.json} for the decoder families the
 * runtime implements: {@code qwen3} (q/k norm) and {@code llama}. Anything that would change the
 * maths and is not implemented (RoPE scaling, sliding windows, other activations) is refused with
 * the file and key named, rather than silently ignored.
 */
public record HfConfig(
    String modelType,
    int vocabSize,
    int hiddenSize,
    int intermediateSize,
    int numLayers,
    int numHeads,
    int numKvHeads,
    int headDim,
    double rmsNormEps,
    double ropeTheta,
    boolean tieWordEmbeddings,
    boolean attentionBias,
    int maxPositionEmbeddings,
    double initializerRange,
    int eosTokenId,
    ObjectNode json) {

  public static final String FILE = "config.json";
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Whether the family normalises queries and keys per head before RoPE (Qwen3 does). */
  public boolean qkNorm() {
    return modelType.equals("qwen3");
  }

  /** Reads {@code dir/config.json} (or {@code dir} itself when it is the file). */
  public static HfConfig read(Path dirOrFile) {
    if (!Files.exists(dirOrFile)) {
      throw new ModelException(dirOrFile + ": no such model directory");
    }
    var file = Files.isDirectory(dirOrFile) ? dirOrFile.resolve(FILE) : dirOrFile;
    JsonNode node;
    try {
      node = JSON.readTree(file.toFile());
    } catch (IOException e) {
      throw new ModelException(file + ": cannot read the model config: " + e.getMessage(), e);
    }
    if (!(node instanceof ObjectNode object)) {
      throw new ModelException(file + ": not a JSON object");
    }
    return parse(object, file.toString());
  }

  /** Parses a config object; {@code source} names it in errors. */
  public static HfConfig parse(ObjectNode json, String source) {
    var r = new Reader(json, source);
    var type = r.string("model_type");
    if (!type.equals("qwen3") && !type.equals("llama")) {
      throw new ModelException(
          source + ": model_type '" + type + "' is not supported (qwen3 and llama are)");
    }
    var act = json.path("hidden_act").asText("silu");
    if (!act.equals("silu")) {
      throw new ModelException(source + ": hidden_act '" + act + "' is not supported (silu is)");
    }
    // transformers 5 writes rope_parameters {rope_theta, rope_type}; older versions rope_theta
    // and rope_scaling at the top level.
    var rope = json.path("rope_parameters");
    var scaling = json.get("rope_scaling");
    var ropeType =
        rope.isObject()
            ? rope.path("rope_type").asText("default")
            : scaling == null || scaling.isNull()
                ? "default"
                : scaling.path("rope_type").asText(scaling.path("type").asText("default"));
    if (!ropeType.equals("default")) {
      throw new ModelException(source + ": RoPE of type '" + ropeType + "' is not supported");
    }
    var ropeTheta =
        rope.isObject() && rope.has("rope_theta")
            ? new Reader((ObjectNode) rope, source + ": rope_parameters").number("rope_theta", 0)
            : r.number("rope_theta", 10000.0);
    for (var layerType : json.path("layer_types")) {
      if (!layerType.asText().equals("full_attention")) {
        throw new ModelException(
            source + ": layer_types holds '" + layerType.asText() + "' (only full_attention is)");
      }
    }
    if (json.path("use_sliding_window").asBoolean(false)) {
      throw new ModelException(source + ": use_sliding_window = true is not supported");
    }
    if (json.path("mlp_bias").asBoolean(false)) {
      throw new ModelException(source + ": mlp_bias = true is not supported");
    }
    var hidden = r.positive("hidden_size");
    var heads = r.positive("num_attention_heads");
    var kvHeads = json.has("num_key_value_heads") ? r.positive("num_key_value_heads") : heads;
    if (heads % kvHeads != 0) {
      throw new ModelException(
          source
              + ": num_key_value_heads ("
              + kvHeads
              + ") must divide num_attention_heads ("
              + heads
              + ")");
    }
    int headDim;
    if (json.hasNonNull("head_dim")) {
      headDim = r.positive("head_dim");
    } else if (hidden % heads == 0) {
      headDim = hidden / heads;
    } else {
      throw new ModelException(
          source + ": head_dim is missing and num_attention_heads does not divide hidden_size");
    }
    if (headDim % 2 != 0) {
      throw new ModelException(source + ": head_dim (" + headDim + ") must be even for RoPE");
    }
    var eos = json.get("eos_token_id");
    var eosId = eos == null || eos.isNull() ? -1 : eos.isArray() ? eos.get(0).asInt() : eos.asInt();
    return new HfConfig(
        type,
        r.positive("vocab_size"),
        hidden,
        r.positive("intermediate_size"),
        r.positive("num_hidden_layers"),
        heads,
        kvHeads,
        headDim,
        r.number("rms_norm_eps", 1e-6),
        ropeTheta,
        json.path("tie_word_embeddings").asBoolean(type.equals("qwen3")),
        json.path("attention_bias").asBoolean(false),
        json.has("max_position_embeddings") ? r.positive("max_position_embeddings") : 2048,
        r.number("initializer_range", 0.02),
        eosId,
        json.deepCopy());
  }

  /** Reads typed fields, naming the source and key in every error. */
  private record Reader(ObjectNode json, String source) {

    String string(String key) {
      var v = json.get(key);
      if (v == null || !v.isTextual()) {
        throw new ModelException(source + ": " + key + " is missing or not a string");
      }
      return v.asText();
    }

    int positive(String key) {
      var v = json.get(key);
      if (v == null || !v.isIntegralNumber() || v.asLong() < 1 || v.asLong() > Integer.MAX_VALUE) {
        throw new ModelException(
            source
                + ": "
                + key
                + " must be a positive integer, got "
                + (v == null ? "nothing" : v));
      }
      return v.asInt();
    }

    double number(String key, double fallback) {
      var v = json.get(key);
      if (v == null || v.isNull()) {
        return fallback;
      }
      if (!v.isNumber() || v.asDouble() <= 0) {
        throw new ModelException(source + ": " + key + " must be a positive number, got " + v);
      }
      return v.asDouble();
    }
  }
}
