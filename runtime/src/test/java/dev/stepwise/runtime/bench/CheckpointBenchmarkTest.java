package dev.stepwise.runtime.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.runtime.TestModels;
import dev.stepwise.runtime.cli.MainRun;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code stepwise bench} runs end to end on a tiny model and prints every row (no timings). */
class CheckpointBenchmarkTest {

  @TempDir Path tmp;

  @Test
  void benchRunsOnATinyModelAndPrintsEveryRatio() throws IOException {
    var run =
        MainRun.of(
            TestModels.around(
                List.of("bench", "--output-dir", tmp.toString()),
                TestModels.tiny(32),
                List.of(
                    "--steps", "6", "--save-every", "2", "--repeats", "1", "--batch-size", "2")));
    assertEquals(0, run.status(), run.err());
    for (var row :
        List.of(
            "ratio stepwise save / plain write",
            "ratio stepwise load / plain read",
            "SHA-256 alone",
            "--ckpt.checksum sha256",
            "memory copy of the same bytes",
            "ratio async stall per save / memory copy",
            "async saves",
            "sync saves")) {
      assertTrue(run.out().contains(row), row + " in\n" + run.out());
    }
    assertTrue(
        run.out().contains("ratio stepwise save / safetensors") || run.out().contains("NOTE"),
        "the Python peers ran, or a note says why not\n" + run.out());
    try (var left = Files.list(tmp)) {
      assertEquals(0, left.count(), "the scratch directory is removed");
    }
  }
}
