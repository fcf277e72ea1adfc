package dev.stepwise.runtime.inference;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * A validated {@code POST /v1/completions} body. {@code prompt} is a string, a list of strings, a
 * list of token ids or a list of token-id lists (as in OpenAI's API); a string prompt is encoded by
 * the server's {@code textPrompt} (the byte-level model: {@code BOS s SEP}, its prompt template; an
 * HF tokenizer: the text's tokens).
 */
record CompletionRequest(
    List<long[]> prompts,
    int n,
    int maxTokens,
    double temperature,
    long seed,
    boolean seeded,
    boolean ignoreEos) {

  static CompletionRequest parse(
      JsonNode body,
      int maxCompletions,
      int maxSeqLen,
      Function<String, long[]> textPrompt,
      int vocab) {
    if (body == null || !body.isObject()) {
      throw new BadRequest(400, null, "the request body must be a JSON object");
    }
    var prompts = prompts(body.get("prompt"), textPrompt, vocab);
    var n = intField(body, "n", 1, 1, maxCompletions);
    var maxTokens = intField(body, "max_tokens", 16, 1, Integer.MAX_VALUE);
    var temperature = 1.0;
    var t = body.get("temperature");
    if (t != null && !t.isNull()) {
      if (!t.isNumber() || t.asDouble() < 0 || t.asDouble() > 10 || Double.isNaN(t.asDouble())) {
        throw new BadRequest(400, "temperature", "temperature must be a number in [0, 10]");
      }
      temperature = t.asDouble();
    }
    var s = body.get("seed");
    var seeded = s != null && !s.isNull();
    if (seeded && !(s.isIntegralNumber() && s.canConvertToLong())) {
      throw new BadRequest(400, "seed", "seed must be an integer");
    }
    var seed = seeded ? s.asLong() : System.nanoTime();
    if ((long) prompts.size() * n > maxCompletions) {
      throw new BadRequest(
          400,
          "n",
          prompts.size()
              + " prompts x n="
              + n
              + " exceeds this server's "
              + maxCompletions
              + " completions per request");
    }
    for (var i = 0; i < prompts.size(); i++) {
      var length = prompts.get(i).length;
      if (length + maxTokens > maxSeqLen) {
        throw new BadRequest(
            400,
            "max_tokens",
            "prompt "
                + i
                + " has "
                + length
                + " tokens; with max_tokens "
                + maxTokens
                + " it exceeds the model's context of "
                + maxSeqLen
                + " tokens");
      }
    }
    var ignore = body.get("ignore_eos");
    if (ignore != null && !ignore.isNull() && !ignore.isBoolean()) {
      throw new BadRequest(400, "ignore_eos", "ignore_eos must be a boolean");
    }
    var ignoreEos = ignore != null && ignore.asBoolean(false);
    return new CompletionRequest(prompts, n, maxTokens, temperature, seed, seeded, ignoreEos);
  }

  private static List<long[]> prompts(
      JsonNode prompt, Function<String, long[]> textPrompt, int vocab) {
    if (prompt == null || prompt.isNull()) {
      throw new BadRequest(400, "prompt", "prompt is required");
    }
    var out = new ArrayList<long[]>();
    if (prompt.isTextual()) {
      out.add(textPrompt.apply(prompt.asText()));
    } else if (prompt.isArray() && prompt.size() > 0) {
      if (prompt.get(0).isIntegralNumber()) {
        out.add(tokenIds(prompt, "prompt", vocab));
      } else {
        for (var i = 0; i < prompt.size(); i++) {
          var item = prompt.get(i);
          if (item.isTextual()) {
            out.add(textPrompt.apply(item.asText()));
          } else if (item.isArray() && item.size() > 0) {
            out.add(tokenIds(item, "prompt[" + i + "]", vocab));
          } else {
            throw new BadRequest(
                400,
                "prompt",
                "prompt[" + i + "] must be a string or a non-empty list of token ids");
          }
        }
      }
    } else {
      throw new BadRequest(
          400, "prompt", "prompt must be a string, a list of strings or (lists of) token ids");
    }
    return out;
  }

  private static long[] tokenIds(JsonNode array, String where, int vocab) {
    var ids = new long[array.size()];
    for (var i = 0; i < ids.length; i++) {
      var v = array.get(i);
      if (!v.isIntegralNumber() || v.asLong() < 0 || v.asLong() >= vocab) {
        throw new BadRequest(
            400, "prompt", where + "[" + i + "] must be a token id in [0, " + vocab + ")");
      }
      ids[i] = v.asLong();
    }
    return ids;
  }

  private static int intField(JsonNode body, String name, int fallback, int min, int max) {
    var v = body.get(name);
    if (v == null || v.isNull()) {
      return fallback;
    }
    if (!v.canConvertToInt() || !v.isIntegralNumber() || v.asInt() < min || v.asInt() > max) {
      throw new BadRequest(
          400,
          name,
          name
              + " must be an integer in ["
              + min
              + ", "
              + (max == Integer.MAX_VALUE ? "..." : max)
              + "], got "
              + v);
    }
    return v.asInt();
  }
}
