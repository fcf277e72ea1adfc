package dev.stepwise.runtime.k8s;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.api.Constants;
import dev.stepwise.runtime.checkpoint.Manifest;
import dev.stepwise.runtime.checkpoint.RunLayout;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A preemption checkpoint is reported with its reason; an interval one without. */
class CheckpointReporterReasonTest {

  private static Manifest manifest(String reason) {
    return new Manifest(
        Manifest.FORMAT,
        Manifest.FORMAT_VERSION,
        12,
        1,
        "2026-12-07T04:00:00Z",
        Map.of(
            "trainer",
            new Manifest.Component(
                List.of(new Manifest.FileEntry("trainer/p.json", 2, null, "0000abcd")))),
        0,
        reason,
        null);
  }

  @Test
  void thePreemptionReasonIsAnAnnotationAndInTheStatusMessage() {
    var reporter =
        new CheckpointReporter(
            null, new RunIdentity("r", "ns", "uid"), new RunLayout(Path.of("/run")));
    var preempted = manifest(Manifest.REASON_PREEMPTION);
    assertEquals(
        "Preemption",
        reporter
            .resource(preempted)
            .getMetadata()
            .getAnnotations()
            .get(Constants.ANNOTATION_CHECKPOINT_REASON));
    assertTrue(reporter.status(preempted).getMessage().contains("Preemption"));

    var interval = manifest(null);
    var annotations = reporter.resource(interval).getMetadata().getAnnotations();
    assertNull(
        annotations == null ? null : annotations.get(Constants.ANNOTATION_CHECKPOINT_REASON));
    assertTrue(reporter.status(interval).getMessage().startsWith("complete: "));
  }
}
