package dev.stepwise.runtime.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code tokenizer.json} through the Rust tokenizers binding gives transformers' token ids. */
class HfTokenizerTest {

  static final Path DIR = HfParityTest.FIXTURES.resolve("qwen3");

  @Test
  void idsEqualTransformersIncludingNonAscii() throws Exception {
    var cases =
        new ObjectMapper().readTree(HfParityTest.FIXTURES.resolve("tokenizer-cases.json").toFile());
    try (var tokenizer = HfTokenizer.load(DIR, 320)) {
      var strings = cases.get("strings");
      assertTrue(strings.size() >= 5);
      for (var i = 0; i < strings.size(); i++) {
        var text = strings.get(i).asText();
        var want = new ObjectMapper().convertValue(cases.get("ids").get(i), long[].class);
        var got = tokenizer.encode(text, false);
        assertArrayEquals(want, got, "ids of '" + text + "'");
        if (!text.contains("<|")) {
          assertEquals(text, tokenizer.decodeAll(got), "decodes back");
        }
      }
    }
  }

  @Test
  void chatTemplateGivesTransformersIds() throws Exception {
    var chat =
        new ObjectMapper()
            .readTree(HfParityTest.FIXTURES.resolve("tokenizer-cases.json").toFile())
            .get("chat");
    var messages = new ArrayList<HfTokenizer.Message>();
    for (var m : chat.get("messages")) {
      messages.add(new HfTokenizer.Message(m.get("role").asText(), m.get("content").asText()));
    }
    try (var tokenizer = HfTokenizer.load(DIR, 320)) {
      var want = new ObjectMapper().convertValue(chat.get("ids"), long[].class);
      assertArrayEquals(want, tokenizer.chat(messages));
    }
  }

  @Test
  void answerEndsWithEndOfTurnAndDecodeStopsThere() {
    try (var tokenizer = HfTokenizer.load(DIR, 320)) {
      var answer = tokenizer.answer("cba");
      assertEquals(tokenizer.endOfAnswer(), answer[answer.length - 1]);
      var withTail = java.util.Arrays.copyOf(answer, answer.length + 2);
      withTail[answer.length] = 5;
      withTail[answer.length + 1] = 6;
      assertEquals("cba", tokenizer.decode(withTail, 0));
    }
  }

  @Test
  void missingTokenizerNamesTheFile(@TempDir Path tmp) {
    var e = assertThrows(ModelException.class, () -> HfTokenizer.load(tmp, 320));
    assertTrue(e.getMessage().contains(tmp.resolve("tokenizer.json").toString()), e.getMessage());
  }

  @Test
  void idsBeyondTheModelVocabAreRefused() throws Exception {
    try (var tokenizer = HfTokenizer.load(DIR, 10)) {
      var e = assertThrows(ModelException.class, () -> tokenizer.encode("hello", false));
      assertTrue(e.getMessage().contains("vocab_size 10"), e.getMessage());
    }
    assertTrue(Files.exists(DIR.resolve("tokenizer.json")));
  }
}
