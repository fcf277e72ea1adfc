package dev.stepwise.runtime.k8s;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.stepwise.api.CheckpointMetrics;
import dev.stepwise.runtime.checkpoint.Manifest;
import dev.stepwise.runtime.checkpoint.RunLayout;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A Checkpoint's status carries the metrics its manifest recorded, and its size. */
class CheckpointReporterMetricsTest {

  @TempDir Path runDir;

  private CheckpointReporter reporter() {
    return new CheckpointReporter(
        null, new RunIdentity("r", "team-a", "uid-1"), new RunLayout(runDir));
  }

  private static Manifest manifest(CheckpointMetrics metrics) {
    return new Manifest(
        Manifest.FORMAT,
        Manifest.FORMAT_VERSION,
        10,
        1,
        "2026-01-01T00:00:00Z",
        Map.of(
            RunLayout.TRAINER,
            new Manifest.Component(List.of(new Manifest.FileEntry("trainer/model.bin", 3, "00")))),
        0,
        null,
        metrics);
  }

  @Test
  void theManifestsMetricsGoIntoTheStatus() {
    var metrics = new CheckpointMetrics();
    metrics.setSamples(80L);
    metrics.setTokens(1000L);
    metrics.setLoss(0.5);
    metrics.setEvalAccuracy(0.25);
    metrics.setSaveSeconds(0.125);

    var status = reporter().status(manifest(metrics));

    assertEquals(metrics, status.getMetrics());
    assertEquals(3L, status.getSizeBytes());
  }

  @Test
  void aManifestWithoutMetricsReportsNone() {
    var status = reporter().status(manifest(null));
    assertNull(status.getMetrics());
    assertEquals(3L, status.getSizeBytes());
  }
}
