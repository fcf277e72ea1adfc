package dev.stepwise.runtime.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.runtime.checkpoint.CheckpointStore.Deletion;
import dev.stepwise.runtime.checkpoint.CheckpointWriter.ComponentFile;
import dev.stepwise.runtime.config.CkptConfig;
import dev.stepwise.runtime.config.ResumeStep;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Timelines: recovery stays on its timeline, a new timeline replaces a step, deletion is safe. */
class CheckpointTimelineTest {

  @TempDir Path run;

  private Manifest save(long step, long timeline, String content) throws IOException {
    var body = content.getBytes(StandardCharsets.UTF_8);
    return new CheckpointWriter(new RunLayout(run))
        .write(
            step,
            1,
            timeline,
            Map.of(
                RunLayout.TRAINER,
                List.of(new ComponentFile("state.txt", out -> out.write(ByteBuffer.wrap(body))))));
  }

  private static CkptConfig ckpt(ResumeStep resume, long timeline, boolean recover) {
    var d = CkptConfig.defaults();
    return new CkptConfig(
        "checkpoints",
        5,
        false,
        null,
        resume,
        CkptConfig.Retention.EXTERNAL,
        timeline,
        recover,
        d.checksum(),
        d.onSignal(),
        d.stopDeadline(),
        d.ioThreads());
  }

  private String content(long step) throws IOException {
    return Files.readString(new RunLayout(run).componentDir(step, "trainer").resolve("state.txt"));
  }

  @Test
  void recoveryContinuesFromTheNewestCheckpointOfItsOwnTimelineOnly() throws IOException {
    var store = new CheckpointStore(new RunLayout(run));
    save(5, 0, "a5");
    save(10, 0, "a10");
    save(15, 0, "a15"); // timeline 0 went on to 15; then a resume to 5 started timeline 1
    assertEquals(OptionalLong.of(15), store.resolveStart(ckpt(null, 0, true)));
    assertEquals(
        OptionalLong.of(5),
        store.resolveStart(ckpt(ResumeStep.of(5), 1, true)),
        "nothing of timeline 1 yet: the resume step, never 10 or 15 of the abandoned timeline");
    save(10, 1, "b10");
    assertEquals(OptionalLong.of(10), store.resolveStart(ckpt(ResumeStep.of(5), 1, true)));
    assertEquals(
        OptionalLong.of(5),
        store.resolveStart(ckpt(ResumeStep.of(5), 1, false)),
        "without --ckpt.recover the resume step is taken as given");
    assertEquals(OptionalLong.empty(), store.resolveStart(ckpt(null, 2, true)));
    assertEquals(OptionalLong.empty(), store.resolveStart(null));
  }

  @Test
  void aNewTimelineReplacesAStepAtomicallyAndLeavesNoDebris() throws IOException {
    var layout = new RunLayout(run);
    var store = new CheckpointStore(layout);
    save(10, 0, "old");
    var manifest = save(10, 1, "new");
    assertEquals(1, manifest.timeline());
    assertEquals("new", content(10));
    assertEquals(1, store.manifest(10).timeline());
    try (var names = Files.list(layout.checkpointsDir())) {
      assertEquals(List.of("step_10"), names.map(p -> p.getFileName().toString()).toList());
    }
  }

  @Test
  void manifestsWithoutATimelineReadAsTimelineZero() throws IOException {
    var layout = new RunLayout(run);
    save(3, 0, "x");
    var file = layout.manifest(3);
    Files.writeString(file, Files.readString(file).replaceAll(",\\s*\"timeline\" : 0", ""));
    assertFalse(Files.readString(file).contains("timeline"));
    assertEquals(0, new CheckpointStore(layout).manifest(3).timeline());
  }

  @Test
  void aNewTimelineSwappedInWhileTheOldCopyIsDeletedIsKept() throws IOException {
    var layout = new RunLayout(run);
    var store = new CheckpointStore(layout);
    save(10, 0, "old");
    // The cleanup of timeline 0's step 10 has checked the manifest; before its rename, the
    // trainer of timeline 1 replaces the step with its own copy.
    var result =
        store.deleteCheckpoint(
            10,
            OptionalLong.of(0),
            () -> {
              try {
                save(10, 1, "new");
              } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
              }
            });

    assertEquals(Deletion.OTHER_TIMELINE, result);
    assertEquals(1, store.manifest(10).timeline(), "timeline 1's copy is in place");
    assertEquals(
        "new", Files.readString(layout.componentDir(10, RunLayout.TRAINER).resolve("state.txt")));
    assertEquals(List.of(10L), store.completeSteps());
  }

  @Test
  void deletionTakesOnlyTheCheckpointItWasAskedFor() throws IOException {
    var layout = new RunLayout(run);
    var store = new CheckpointStore(layout);
    save(5, 0, "a5");
    save(10, 1, "b10");
    Files.createDirectories(layout.componentDir(15, "trainer")); // a save in flight
    Files.createDirectories(layout.checkpointsDir().resolve(".step_7.deleted-123/trainer"));

    assertEquals(Deletion.OTHER_TIMELINE, store.deleteCheckpoint(10, OptionalLong.of(0)));
    assertTrue(Files.exists(layout.manifest(10)));
    assertEquals(Deletion.INCOMPLETE, store.deleteCheckpoint(15, OptionalLong.empty()));
    assertTrue(Files.isDirectory(layout.stepDir(15)));
    assertEquals(Deletion.DELETED, store.deleteCheckpoint(5, OptionalLong.of(0)));
    assertEquals(Deletion.ABSENT, store.deleteCheckpoint(5, OptionalLong.of(0)));
    assertEquals(List.of(10L), store.completeSteps());
    try (var names = Files.list(layout.checkpointsDir())) {
      assertEquals(
          List.of("step_10", "step_15"),
          names.map(p -> p.getFileName().toString()).sorted().toList(),
          "tombstones are swept");
    }
  }
}
