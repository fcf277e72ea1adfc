package dev.stepwise.runtime.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The metrics log's format, its truncation on resume and its tolerance of a torn last line. */
class MetricsLogTest {

  @TempDir Path tmp;

  private static MetricsLog.Entry entry(long step) {
    return new MetricsLog.Entry(
        "2025-01-01T00:00:00Z",
        MetricsLog.TRAINER,
        step,
        1.0 / step,
        8 * step,
        100 * step,
        1234.5,
        1e-3,
        null,
        null,
        null);
  }

  @Test
  void oneObjectPerLineWithTheAgreedKeysInOrder() throws IOException {
    var file = tmp.resolve("metrics.jsonl");
    try (var log = MetricsLog.open(file, 0)) {
      log.append(entry(1));
      log.append(
          new MetricsLog.Entry(
              "2025-01-01T00:00:01Z",
              MetricsLog.TRAINER,
              2,
              0.5,
              16L,
              200L,
              99.0,
              1e-3,
              0.7,
              0.25,
              Double.NaN));
    }
    var lines = Files.readAllLines(file);
    assertEquals(
        "{\"time\":\"2025-01-01T00:00:00Z\",\"role\":\"trainer\",\"step\":1,\"loss\":1.0,"
            + "\"samples\":8,\"tokens\":100,\"tokensPerSecond\":1234.5,\"lr\":0.001}",
        lines.get(0));
    assertEquals(
        "{\"time\":\"2025-01-01T00:00:01Z\",\"role\":\"trainer\",\"step\":2,\"loss\":0.5,"
            + "\"samples\":16,\"tokens\":200,\"tokensPerSecond\":99.0,\"lr\":0.001,"
            + "\"evalLoss\":0.7,\"evalAccuracy\":0.25}",
        lines.get(1),
        "a non-finite value is left out");
  }

  @Test
  void openingAtAResumeStepDropsTheLaterStepsAndATornLine() throws IOException {
    var file = tmp.resolve("metrics.jsonl");
    try (var log = MetricsLog.open(file, 0)) {
      for (var step = 1; step <= 6; step++) {
        log.append(entry(step));
      }
    }
    Files.writeString(file, "{\"time\":\"2025", StandardOpenOption.APPEND); // a crash mid-line
    assertEquals(6, MetricsLog.read(file).size(), "a reader skips the torn line");

    try (var log = MetricsLog.open(file, 4)) {
      log.append(entry(5));
    }
    assertEquals(
        List.of(1L, 2L, 3L, 4L, 5L),
        MetricsLog.read(file).stream().map(MetricsLog.Entry::step).toList());
    assertTrue(Files.readString(file).endsWith("}\n"));
    assertFalse(Files.exists(tmp.resolve(".metrics.jsonl.tmp")), "rewritten atomically");
  }

  @Test
  void aFreshRunStartsAFreshLog() throws IOException {
    var file = tmp.resolve("metrics.jsonl");
    try (var log = MetricsLog.open(file, 0)) {
      log.append(entry(1));
    }
    var before = Files.getLastModifiedTime(file);
    try (var log = MetricsLog.open(file, 1)) {
      // Nothing after step 1: the file is left as it is.
    }
    assertEquals(before, Files.getLastModifiedTime(file));
    try (var log = MetricsLog.open(file, 0)) {
      // A new run from step 0 in the same directory: the old history goes.
    }
    assertEquals("", Files.readString(file, StandardCharsets.UTF_8));
  }
}
