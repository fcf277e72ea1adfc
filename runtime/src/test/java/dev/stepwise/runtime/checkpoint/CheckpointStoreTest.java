package dev.stepwise.runtime.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.runtime.checkpoint.CheckpointWriter.ComponentFile;
import dev.stepwise.runtime.config.ResumeStep;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointStoreTest {

  @TempDir Path run;

  private Manifest save(RunLayout layout, long step) throws IOException {
    var body = ("state of step " + step).getBytes(StandardCharsets.UTF_8);
    return new CheckpointWriter(layout)
        .write(
            step,
            1,
            Map.of(
                RunLayout.TRAINER,
                List.of(
                    new ComponentFile("progress.json", out -> out.write(ByteBuffer.wrap(body))))));
  }

  @Test
  void layoutMatchesTheContract() {
    var layout = new RunLayout(run);
    assertEquals(run.resolve("checkpoints/step_20"), layout.stepDir(20));
    assertEquals(run.resolve("checkpoints/step_20/trainer"), layout.componentDir(20, "trainer"));
    assertEquals(run.resolve("checkpoints/step_20/manifest.json"), layout.manifest(20));
    assertEquals(run.resolve("weights/step_3"), layout.weightsDir(3));
    assertEquals(run.resolve("rollouts/step_3"), layout.rolloutsDir(3));
    assertEquals("model-rank1-of-4.safetensors", RunLayout.shardFile("model", 1, 4));
    assertEquals(7L, RunLayout.parseStep("step_7").getAsLong());
    assertTrue(RunLayout.parseStep("step_07").isEmpty());
    assertTrue(RunLayout.parseStep(".step_7.tmp").isEmpty());
  }

  @Test
  void manifestIsWrittenLastWithSizesAndChecksums() throws IOException {
    var layout = new RunLayout(run);
    var manifest = save(layout, 5);
    var file = manifest.components().get("trainer").files().get(0);
    assertEquals("trainer/progress.json", file.path());
    var bytes = Files.readAllBytes(layout.stepDir(5).resolve(file.path()));
    assertEquals(bytes.length, file.size());
    var crc = new java.util.zip.CRC32C();
    crc.update(bytes);
    assertEquals(String.format("%08x", crc.getValue()), file.crc32c(), "CRC32C by default");
    assertNull(file.sha256(), "no SHA-256 unless asked for");
    var json = Files.readString(layout.manifest(5));
    assertTrue(
        json.contains("\"format_version\" : 2") && json.contains("\"world_size\" : 1"), json);
    assertFalse(json.contains("sha256"), json);
    try (var files = Files.list(layout.componentDir(5, "trainer"))) {
      assertEquals(1, files.count(), "no temporary files are left behind");
    }
  }

  @Test
  void onlyDirectoriesWithAValidManifestAreCheckpoints() throws IOException {
    var layout = new RunLayout(run);
    save(layout, 2);
    save(layout, 4);
    save(layout, 6);
    Files.delete(layout.manifest(6)); // a save that never finished
    Files.createDirectories(layout.stepDir(8).resolve("trainer")); // a save that just started
    save(layout, 10);
    Files.writeString(layout.manifest(10), "{ not json"); // a torn manifest
    Files.createDirectories(layout.checkpointsDir().resolve("step_x"));
    var store = new CheckpointStore(layout);
    assertEquals(List.of(2L, 4L), store.completeSteps());
    assertEquals(4L, store.latest().getAsLong());
    assertEquals(4L, store.resolve(ResumeStep.latestStep()));
    var incomplete = assertThrows(CheckpointException.class, () -> store.resolve(ResumeStep.of(6)));
    assertEquals(
        layout.stepDir(6)
            + " is incomplete (no manifest.json): its save did not finish, so it cannot be resumed"
            + " from (complete: [2, 4])",
        incomplete.getMessage());
    var missing = assertThrows(CheckpointException.class, () -> store.resolve(ResumeStep.of(3)));
    assertTrue(missing.getMessage().startsWith("no checkpoint at step 3"), missing.getMessage());
    var torn = assertThrows(CheckpointException.class, () -> store.resolve(ResumeStep.of(10)));
    assertTrue(torn.getMessage().contains("unreadable"), torn.getMessage());
  }

  @Test
  void latestFailsClearlyWhenThereIsNothing() {
    var store = new CheckpointStore(new RunLayout(run));
    var e = assertThrows(CheckpointException.class, () -> store.resolve(ResumeStep.latestStep()));
    assertTrue(e.getMessage().contains("no complete checkpoint"), e.getMessage());
  }

  @Test
  void resavingAStepReplacesIt() throws IOException {
    var layout = new RunLayout(run);
    save(layout, 3);
    var again = save(layout, 3);
    assertEquals(again, new CheckpointStore(layout).manifest(3));
  }
}
