package dev.stepwise.runtime.model;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A Hugging Face {@code tokenizer.json} through the Rust tokenizers library (DJL's binding), with
 * the ChatML chat template ({@code <|im_start|>role\ncontent<|im_end|>\n}, Qwen's) applied to
 * prompts. The runtime has no Jinja engine: a tokenizer without the ChatML tokens is refused where
 * a chat template is needed.
 */
public final class HfTokenizer implements TextCodec, AutoCloseable {

  public static final String FILE = "tokenizer.json";
  private static final String IM_START = "<|im_start|>";
  private static final String IM_END = "<|im_end|>";
  private static final ObjectMapper JSON = new ObjectMapper();

  /** One chat message. */
  public record Message(String role, String content) {}

  private final Path file;
  private final HuggingFaceTokenizer tokenizer;
  private final Map<String, Long> specialIds = new HashMap<>();
  private final long endOfAnswer;
  private final long pad;
  private final int vocabSize;

  private HfTokenizer(Path file, int vocabSize) {
    this.file = file;
    this.vocabSize = vocabSize;
    try {
      for (var token : JSON.readTree(file.toFile()).path("added_tokens")) {
        specialIds.put(token.path("content").asText(), token.path("id").asLong());
      }
      tokenizer = HuggingFaceTokenizer.newInstance(file, Map.of());
    } catch (IOException | RuntimeException e) {
      throw new ModelException(file + ": cannot load the tokenizer: " + e.getMessage(), e);
    }
    var end = specialIds.get(IM_END);
    if (end == null) {
      end = specialIds.get("<|endoftext|>");
    }
    if (end == null) {
      end = specialIds.get("</s>");
    }
    if (end == null) {
      throw new ModelException(
          file + ": no end-of-turn token (<|im_end|>, <|endoftext|> or </s>) in added_tokens");
    }
    endOfAnswer = end;
    pad = specialIds.getOrDefault("<|endoftext|>", end);
  }

  /** The tokenizer of a model directory; {@code vocabSize} is the model's (ids are checked). */
  public static HfTokenizer load(Path dir, int vocabSize) {
    var file = dir.resolve(FILE);
    if (!Files.isRegularFile(file)) {
      throw new ModelException(file + ": missing (the model directory needs a tokenizer.json)");
    }
    return new HfTokenizer(file, vocabSize);
  }

  /** Token ids of {@code text}, with the tokenizer's special tokens (BOS...) when asked. */
  public long[] encode(String text, boolean addSpecialTokens) {
    var ids = tokenizer.encode(text, addSpecialTokens, false).getIds();
    for (var id : ids) {
      if (id < 0 || id >= vocabSize) {
        throw new ModelException(
            file + ": token id " + id + " is outside the model's vocab_size " + vocabSize);
      }
    }
    return ids;
  }

  /** Text of {@code ids}, special tokens skipped. */
  public String decodeAll(long[] ids) {
    return tokenizer.decode(ids, true);
  }

  /** The chat template applied to {@code messages}, ending with the assistant's turn opened. */
  public long[] chat(List<Message> messages) {
    if (!specialIds.containsKey(IM_START) || !specialIds.containsKey(IM_END)) {
      throw new ModelException(
          file + ": no ChatML tokens (<|im_start|>, <|im_end|>): no chat template available");
    }
    var text = new StringBuilder();
    for (var m : messages) {
      text.append(IM_START).append(m.role()).append('\n').append(m.content()).append(IM_END);
      text.append('\n');
    }
    text.append(IM_START).append("assistant\n");
    return encode(text.toString(), false);
  }

  @Override
  public long[] prompt(String text) {
    return chat(List.of(new Message("user", text)));
  }

  @Override
  public long[] answer(String text) {
    var ids = encode(text, false);
    var out = Arrays.copyOf(ids, ids.length + 1);
    out[ids.length] = endOfAnswer;
    return out;
  }

  @Override
  public long endOfAnswer() {
    return endOfAnswer;
  }

  @Override
  public long pad() {
    return pad;
  }

  @Override
  public String decode(long[] ids, int from) {
    var end = from;
    while (end < ids.length && ids[end] != endOfAnswer && !specialIds.containsValue(ids[end])) {
      end++;
    }
    return tokenizer.decode(Arrays.copyOfRange(ids, from, end), true);
  }

  @Override
  public int vocabSize() {
    return vocabSize;
  }

  @Override
  public void close() {
    tokenizer.close();
  }
}
