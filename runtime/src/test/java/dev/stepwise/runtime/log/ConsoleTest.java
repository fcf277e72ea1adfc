package dev.stepwise.runtime.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/** The runtime's one logging API: SLF4J through {@link Console}, human or JSON lines. */
class ConsoleTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final org.slf4j.Logger LOG = LoggerFactory.getLogger(ConsoleTest.class);

  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private Console.Scope open(Map<String, Object> context) {
    return Console.open(
        new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8),
        context);
  }

  private String out() {
    return out.toString(StandardCharsets.UTF_8);
  }

  private String err() {
    return err.toString(StandardCharsets.UTF_8);
  }

  @Test
  void theHumanFormatIsTheMessageAloneAndErrorsGoToTheErrorStream() {
    try (var console = open(Map.of("role", "sft"))) {
      LOG.atInfo().addKeyValue("step", 3).log("step 3/20 | loss 1.2345");
      LOG.warn("warning: weights of step 2 are gone");
      LOG.error("error: --step: required");
      LOG.debug("not shown at info");
    }
    assertEquals("step 3/20 | loss 1.2345\nwarning: weights of step 2 are gone\n", out());
    assertEquals("error: --step: required\n", err());
  }

  @Test
  void theJsonFormatIsOneObjectALineWithStructuredFields() throws Exception {
    try (var console = open(Map.of("role", "trainer", "rank", 0))) {
      Console.configure(LogFormat.JSON, Level.INFO);
      LOG.atInfo().addKeyValue("step", 3).addKeyValue("loss", 1.5).log("step 3/20 | loss 1.5000");
      LOG.error("error: boom");
    }
    var lines = out().split("\n");
    assertEquals(1, lines.length, out());
    JsonNode line = JSON.readTree(lines[0]);
    assertEquals("INFO", line.path("level").asText());
    assertEquals(ConsoleTest.class.getName(), line.path("logger").asText());
    assertEquals("step 3/20 | loss 1.5000", line.path("message").asText());
    assertEquals(3, line.path("step").asInt());
    assertEquals(1.5, line.path("loss").asDouble());
    assertEquals("trainer", line.path("role").asText());
    assertEquals(0, line.path("rank").asInt());
    assertTrue(line.path("time").asText().endsWith("Z"), line.toString());
    assertEquals("ERROR", JSON.readTree(err().strip()).path("level").asText());
  }

  @Test
  void librariesSpeakFromWarnUnlessTheLevelIsDebug() {
    var library = LoggerFactory.getLogger("io.fabric8.kubernetes.client.Config");
    try (var console = open(Map.of())) {
      library.info("chatty");
      library.warn("worth seeing");
      Console.configure(LogFormat.HUMAN, Level.DEBUG);
      library.debug("asked for");
    }
    assertEquals("worth seeing\nasked for\n", out());
  }

  @Test
  void childLinesArePrefixedForHumansAndKeptOrWrappedAsJson() throws Exception {
    try (var console = open(Map.of())) {
      Console.relay("[rank 1] ", "step 2/4", false, Map.of("rank", 1));
      Console.configure(LogFormat.JSON, Level.INFO);
      Console.relay("[rank 1] ", "{\"message\":\"as is\"}", false, Map.of("rank", 1));
      Console.relay("[rank 1] ", "Exception in thread main", true, Map.of("rank", 1));
    }
    var lines = out().split("\n");
    assertEquals("[rank 1] step 2/4", lines[0]);
    assertEquals("{\"message\":\"as is\"}", lines[1]);
    var wrapped = JSON.readTree(err().strip());
    assertEquals("Exception in thread main", wrapped.path("message").asText());
    assertEquals("ERROR", wrapped.path("level").asText());
    assertEquals(1, wrapped.path("rank").asInt());
  }

  @Test
  void aQuietScopeDropsEveryLineAndClosingRestores() {
    try (var console = open(Map.of())) {
      try (var quiet = Console.quiet()) {
        LOG.info("measured, not reported");
      }
      LOG.info("reported");
    }
    assertFalse(out().contains("measured"), out());
    assertEquals("reported\n", out());
  }
}
