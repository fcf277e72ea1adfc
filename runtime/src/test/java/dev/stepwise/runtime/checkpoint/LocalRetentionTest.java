package dev.stepwise.runtime.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stepwise.api.CheckpointMetric;
import dev.stepwise.api.CheckpointMetrics;
import dev.stepwise.api.KeepBestSpec;
import dev.stepwise.api.MetricOrder;
import dev.stepwise.api.retention.Retention;
import dev.stepwise.api.retention.RetentionDecision;
import dev.stepwise.api.retention.RetentionDecision.QuotaState;
import dev.stepwise.api.retention.RetentionRules;
import dev.stepwise.api.retention.StoredCheckpoint;
import dev.stepwise.runtime.log.Console;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --ckpt.retention local} deletes exactly the step folders the shared {@link Retention}
 * decision retires, given the sizes on disk and the metrics in the manifests.
 */
class LocalRetentionTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Instant T0 = Instant.parse("2026-12-07T06:00:00Z");

  @TempDir Path run;

  /** A complete checkpoint of {@code step}: a payload of {@code bytes} and a manifest. */
  private void checkpoint(long step, int bytes, Double loss) throws IOException {
    var layout = new RunLayout(run);
    var payload = layout.componentDir(step, RunLayout.TRAINER).resolve("model.safetensors");
    Files.createDirectories(payload.getParent());
    Files.write(payload, new byte[bytes]);
    var metrics = new CheckpointMetrics();
    metrics.setLoss(loss);
    var manifest =
        new Manifest(
            Manifest.FORMAT,
            Manifest.FORMAT_VERSION,
            step,
            1,
            T0.plusSeconds(step).toString(),
            Map.of(
                RunLayout.TRAINER,
                new Manifest.Component(
                    List.of(
                        Manifest.FileEntry.of(
                            "trainer/model.safetensors", bytes, Checksum.CRC32C, "0")))),
            0,
            null,
            loss == null ? null : metrics);
    Files.write(layout.manifest(step), JSON.writeValueAsBytes(manifest));
  }

  /** What retention sees, measured here independently: every file's size, the manifest's loss. */
  private List<StoredCheckpoint> onDisk() throws IOException {
    var store = new CheckpointStore(new RunLayout(run));
    var stored = new ArrayList<StoredCheckpoint>();
    for (var step : store.completeSteps()) {
      long size;
      try (var files = Files.walk(store.layout().stepDir(step))) {
        size = files.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
      }
      stored.add(
          new StoredCheckpoint(
              step, T0.plusSeconds(step).toString(), size, store.manifest(step).metrics(), false));
    }
    return stored;
  }

  private List<Long> stepFolders() throws IOException {
    try (var list = Files.list(new RunLayout(run).checkpointsDir())) {
      return list.map(p -> RunLayout.parseStep(p.getFileName().toString()))
          .filter(s -> s.isPresent())
          .map(s -> s.getAsLong())
          .sorted()
          .toList();
    }
  }

  /** Retention's log lines (and only them) into {@code log}. */
  private static Console.Scope capture(ByteArrayOutputStream log) {
    var stream = new PrintStream(log, true, StandardCharsets.UTF_8);
    return Console.capture(stream, stream, LocalRetention.class.getName()::equals);
  }

  @Test
  void keepEveryKeepBestAndMaxBytesDeleteExactlyWhatRetentionDecides() throws IOException {
    // Losses: step 2 and 5 are the best two; sizes grow, so the quota bites the old ones first.
    var losses = new TreeMap<Long, Double>();
    for (long step = 1; step <= 12; step++) {
      losses.put(step, step == 2 ? 0.1 : step == 5 ? 0.2 : 3.0 - step * 0.1);
      checkpoint(step, 1000 + (int) step * 10, losses.get(step));
    }
    Files.createDirectories(new RunLayout(run).stepDir(13).resolve("trainer")); // a save in flight
    var rules =
        new RetentionRules(
            2, 4, new KeepBestSpec(CheckpointMetric.loss, MetricOrder.min, 2), 6_000L);
    var protectedSteps = Set.of(1L, 12L); // the resume point, the step just written
    var expected = Retention.decide(rules, onDisk(), protectedSteps);
    var log = new ByteArrayOutputStream();

    RetentionDecision decision;
    try (var scope = capture(log)) {
      decision =
          new LocalRetention(new CheckpointStore(new RunLayout(run)), rules).apply(protectedSteps);
    }

    assertEquals(expected, decision);
    var left = new ArrayList<>(expected.kept().keySet());
    left.add(13L);
    assertEquals(left, stepFolders(), "the folders left are those kept, and the one in flight");
    // Every rule took part: the count rules retired some, the quota others.
    var reasons = expected.deletions().stream().map(d -> d.reason()).toList();
    assertTrue(reasons.stream().anyMatch(r -> r.startsWith("beyond keep 2")), reasons.toString());
    assertTrue(reasons.stream().anyMatch(r -> r.startsWith("over maxBytes")), reasons.toString());
    assertTrue(expected.kept().containsKey(1L), "protected: kept whatever the quota says");
    assertTrue(expected.kept().get(8L).contains("every 4"), expected.kept().toString());
    assertEquals(QuotaState.WITHIN, expected.quota().state());
    assertTrue(log.toString(StandardCharsets.UTF_8).contains("checkpoint retention: deleted"));
  }

  @Test
  void protectedCheckpointsOverTheQuotaStayAndAreWarnedAboutOncePerSave() throws IOException {
    for (long step = 1; step <= 4; step++) {
      checkpoint(step, 5000, null);
    }
    var rules = new RetentionRules(3, null, null, 4096L);
    var log = new ByteArrayOutputStream();
    var retention = new LocalRetention(new CheckpointStore(new RunLayout(run)), rules);

    RetentionDecision decision;
    try (var scope = capture(log)) {
      decision = retention.apply(Set.of(2L));
    }

    assertEquals(QuotaState.EXCEEDED_BY_PROTECTED, decision.quota().state());
    assertEquals(List.of(2L, 4L), stepFolders(), "the resume point and the newest stay");
    var text = log.toString(StandardCharsets.UTF_8);
    assertEquals(1, text.split("warning: checkpoint retention", -1).length - 1, text);
    assertTrue(text.contains("over --ckpt.max-bytes 4096"), text);
    assertFalse(text.contains("maxBytes"), text);
  }

  @Test
  void keepAloneKeepsTheNewestAndNeverAProtectedOrIncompleteOne() throws IOException {
    for (long step = 1; step <= 5; step++) {
      checkpoint(step, 10, 1.0);
    }
    Files.createDirectories(new RunLayout(run).stepDir(6).resolve("trainer"));
    var decision =
        new LocalRetention(
                new CheckpointStore(new RunLayout(run)), new RetentionRules(2, null, null, null))
            .apply(Set.of(2L));
    assertEquals(List.of(1L, 3L), decision.deletedSteps().stream().sorted().toList());
    assertEquals(List.of(2L, 4L, 5L, 6L), stepFolders());
  }
}
