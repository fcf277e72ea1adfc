package dev.stepwise.runtime.trainer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stepwise.runtime.checkpoint.CheckpointException;
import dev.stepwise.runtime.checkpoint.CheckpointStore;
import dev.stepwise.runtime.checkpoint.CheckpointWriter;
import dev.stepwise.runtime.checkpoint.ModelWeights;
import dev.stepwise.runtime.checkpoint.RunLayout;
import dev.stepwise.runtime.checkpoint.Safetensors;
import dev.stepwise.runtime.config.CommandLine;
import dev.stepwise.runtime.config.SftConfig;
import dev.stepwise.runtime.log.LogCapture;
import dev.stepwise.runtime.model.ByteTokenizer;
import dev.stepwise.runtime.model.Transformer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.channels.Channels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Device;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real (tiny) training runs: learning, checkpoint layout, retention, atomicity, exact resume. */
class SftTrainerTest {

  private static final String[] TINY = {
    "--model.d-model", "32", "--model.n-layers", "1", "--model.n-heads", "2",
    "--model.d-ff", "64", "--model.max-seq-len", "16", "--data.max-len", "5",
    "--data.batch-size", "8", "--eval.samples", "0", "--threads", "1",
    "--scheduler.warmup-steps", "2"
  };

  @TempDir Path tmp;

  static SftConfig config(Path runDir, String... flags) {
    var args = new ArrayList<>(List.of(TINY));
    args.add("--output-dir");
    args.add(runDir.toString());
    args.addAll(List.of(flags));
    return CommandLine.parse(SftConfig.class, args).config();
  }

  static SftTrainer.Result train(Path runDir, String... flags) {
    return train(runDir, CheckpointWriter.FileListener.NONE, flags);
  }

  static SftTrainer.Result train(
      Path runDir, CheckpointWriter.FileListener listener, String... flags) {
    try (var log = LogCapture.start()) {
      return new SftTrainer(config(runDir, flags), listener).run();
    }
  }

  private static byte[] trainerFile(Path runDir, long step, String name) throws IOException {
    return Files.readAllBytes(new RunLayout(runDir).componentDir(step, "trainer").resolve(name));
  }

  private static void assertSameState(Path a, Path b, long step) throws IOException {
    for (var name :
        List.of(
            "model-rank0-of-1.safetensors", "optimizer-rank0-of-1.safetensors", "progress.json")) {
      assertArrayEquals(trainerFile(a, step, name), trainerFile(b, step, name), name);
    }
  }

  @Test
  void lossFallsAndHeldOutAccuracyIsMeasured() {
    var result = train(tmp, "--max-steps", "60", "--optim.lr", "1e-2", "--eval.samples", "16");
    assertEquals(60, result.progress().step());
    assertEquals(60 * 8, result.progress().totalSamples());
    assertTrue(
        result.lastLoss() < result.firstLoss() * 0.8,
        "loss " + result.firstLoss() + " -> " + result.lastLoss());
    assertTrue(result.heldOutAccuracy() >= 0 && result.heldOutAccuracy() <= 1);
    assertFalse(Files.exists(tmp.resolve("checkpoints")), "no checkpoint unless asked");
  }

  @Test
  void bareCkptWritesOnlyTheFinalStep() {
    train(tmp, "--max-steps", "3", "--ckpt");
    assertEquals(List.of(3L), new CheckpointStore(new RunLayout(tmp)).completeSteps());
    var trainer = tmp.resolve("checkpoints/step_3/trainer");
    for (var name :
        List.of(
            "model-rank0-of-1.safetensors",
            "optimizer-rank0-of-1.safetensors",
            "progress.json",
            "scheduler.json",
            "rank0-of-1.json",
            "config.toml")) {
      assertTrue(Files.isRegularFile(trainer.resolve(name)), name);
    }
  }

  @Test
  void intervalAndKeepBoundWhatStaysOnDisk() throws IOException {
    train(tmp, "--max-steps", "7", "--ckpt.interval", "2", "--ckpt.keep", "2");
    var store = new CheckpointStore(new RunLayout(tmp));
    assertEquals(List.of(6L, 7L), store.completeSteps());
    try (var dirs = Files.list(tmp.resolve("checkpoints"))) {
      assertEquals(2, dirs.count(), "older step dirs are deleted, not just unmarked");
    }
  }

  @Test
  void splitRunIsBitIdenticalToOneRun() throws IOException {
    var whole = tmp.resolve("whole");
    var split = tmp.resolve("split");
    train(whole, "--max-steps", "8", "--ckpt");
    train(split, "--max-steps", "4", "--ckpt");
    var resumed = train(split, "--max-steps", "8", "--ckpt.resume-step", "4");
    assertEquals(4, resumed.resumedFrom());
    assertSameState(whole, split, 8);
  }

  @Test
  void asyncSavesAndLatestResumeAreBitIdenticalToo() throws IOException {
    var whole = tmp.resolve("whole");
    var split = tmp.resolve("split");
    train(whole, "--max-steps", "8", "--ckpt");
    train(split, "--max-steps", "4", "--ckpt.interval", "2", "--ckpt.save-async");
    train(split, "--max-steps", "8", "--ckpt.save-async", "--ckpt.resume-step", "latest");
    assertSameState(whole, split, 8);
    assertEquals(List.of(2L, 4L, 8L), new CheckpointStore(new RunLayout(split)).completeSteps());
  }

  @Test
  void aSaveKilledHalfWayLeavesThePreviousCheckpointsResumable() throws IOException {
    var crashed = tmp.resolve("crashed");
    var reference = tmp.resolve("reference");
    var model6 =
        new RunLayout(crashed).componentDir(6, "trainer").resolve("model-rank0-of-1.safetensors");
    CheckpointWriter.FileListener crashAfterModelShardOfStep6 =
        file -> {
          if (file.equals(model6)) {
            throw new SimulatedCrash();
          }
        };
    assertThrows(
        SimulatedCrash.class,
        () ->
            train(
                crashed, crashAfterModelShardOfStep6, "--max-steps", "8", "--ckpt.interval", "2"));
    var layout = new RunLayout(crashed);
    var store = new CheckpointStore(layout);
    assertTrue(Files.exists(model6), "the crash happened mid-save");
    assertFalse(Files.exists(layout.manifest(6)));
    assertEquals(List.of(2L, 4L), store.completeSteps(), "the half-written step is not counted");

    var refused =
        assertThrows(
            CheckpointException.class,
            () -> train(crashed, "--max-steps", "8", "--ckpt.resume-step", "6"));
    assertTrue(refused.getMessage().contains("incomplete"), refused.getMessage());

    train(crashed, "--max-steps", "8", "--ckpt.interval", "2", "--ckpt.resume-step", "latest");
    train(reference, "--max-steps", "8", "--ckpt");
    assertSameState(reference, crashed, 8);
    assertEquals(List.of(2L, 4L, 6L, 8L), store.completeSteps());
  }

  @Test
  void keepNeverDeletesTheCheckpointBeingResumedFrom() {
    train(tmp, "--max-steps", "2", "--ckpt");
    train(
        tmp,
        "--max-steps",
        "6",
        "--ckpt.interval",
        "1",
        "--ckpt.keep",
        "1",
        "--ckpt.resume-step",
        "2");
    assertEquals(List.of(2L, 6L), new CheckpointStore(new RunLayout(tmp)).completeSteps());
  }

  @Test
  void externalRetentionLeavesDeletionToTheOperator() {
    train(
        tmp,
        "--max-steps",
        "3",
        "--ckpt.interval",
        "1",
        "--ckpt.keep",
        "1",
        "--ckpt.retention",
        "external");
    assertEquals(List.of(1L, 2L, 3L), new CheckpointStore(new RunLayout(tmp)).completeSteps());
  }

  @Test
  void corruptOrMismatchedCheckpointsAreRefusedClearly() throws IOException {
    train(tmp, "--max-steps", "2", "--ckpt");
    var shard = tmp.resolve("checkpoints/step_2/trainer/optimizer-rank0-of-1.safetensors");
    var bytes = Files.readAllBytes(shard);
    bytes[bytes.length - 1] ^= 1;
    Files.write(shard, bytes);
    var corrupt =
        assertThrows(
            CheckpointException.class,
            () -> train(tmp, "--max-steps", "4", "--ckpt.resume-step", "2"));
    assertTrue(corrupt.getMessage().contains("checksum"), corrupt.getMessage());

    var other = tmp.resolve("other");
    train(other, "--max-steps", "2", "--ckpt");
    var mismatch =
        assertThrows(
            CheckpointException.class,
            () ->
                train(other, "--max-steps", "4", "--ckpt.resume-step", "2", "--model.d-ff", "96"));
    assertTrue(mismatch.getMessage().contains("shape"), mismatch.getMessage());

    var beyond =
        assertThrows(
            CheckpointException.class,
            () -> train(other, "--max-steps", "1", "--ckpt.resume-step", "2"));
    assertTrue(beyond.getMessage().contains("beyond max-steps"), beyond.getMessage());
  }

  @Test
  void initStartsAFreshRunFromAnotherRunsModelWeights() throws IOException {
    var source = tmp.resolve("source");
    train(source, "--max-steps", "40", "--optim.lr", "1e-2", "--ckpt");
    var from = source.resolve("checkpoints/step_40");

    // What init loads is the source's model, bit for bit, over another seed's initial weights.
    var model =
        new Transformer(config(tmp).model(), ByteTokenizer.VOCAB_SIZE, new Device("cpu"), 7);
    ModelWeights.initFrom(from, model.parameters());
    var loaded = new ByteArrayOutputStream();
    Safetensors.write(Channels.newChannel(loaded), model.parameters(), Map.of("format", "pt"));
    assertArrayEquals(
        Files.readAllBytes(from.resolve("trainer/model-rank0-of-1.safetensors")),
        loaded.toByteArray());

    var fresh = train(tmp.resolve("fresh"), "--max-steps", "2", "--seed", "7");
    var initRun = tmp.resolve("init");
    var init =
        train(initRun, "--max-steps", "2", "--seed", "7", "--ckpt", "--init.checkpoint", "" + from);
    assertEquals(-1, init.resumedFrom(), "a fresh start, not a resume");
    assertEquals(2, init.progress().step());
    assertTrue(
        init.firstLoss() < fresh.firstLoss() * 0.9,
        "initialised " + init.firstLoss() + " vs fresh " + fresh.firstLoss());
    var rankState = new ObjectMapper().readTree(trainerFile(initRun, 2, "rank0-of-1.json"));
    assertEquals(2, rankState.path("optimizer_step").asLong(), "a fresh optimizer");
  }

  @Test
  void resumeIgnoresInit() throws IOException {
    var source = tmp.resolve("source");
    train(source, "--max-steps", "3", "--ckpt");
    var init = new String[] {"--init.checkpoint", "" + source.resolve("checkpoints/step_3")};
    var whole = tmp.resolve("whole");
    var split = tmp.resolve("split");
    train(whole, concat(init, "--max-steps", "4", "--ckpt"));
    train(split, concat(init, "--max-steps", "2", "--ckpt"));
    var resumed = train(split, concat(init, "--max-steps", "4", "--ckpt.resume-step", "2"));
    assertEquals(2, resumed.resumedFrom());
    assertSameState(whole, split, 4);
  }

  @Test
  void initFromSomethingThatIsNotACheckpointIsRefusedClearly() {
    var missing =
        assertThrows(
            CheckpointException.class,
            () ->
                train(
                    tmp.resolve("run"),
                    "--max-steps",
                    "1",
                    "--init.checkpoint",
                    "" + tmp.resolve("nowhere/step_3")));
    assertTrue(missing.getMessage().startsWith("init.checkpoint: "), missing.getMessage());
    assertTrue(missing.getMessage().contains("not a complete checkpoint"), missing.getMessage());
  }

  private static String[] concat(String[] head, String... tail) {
    var all = new ArrayList<>(List.of(head));
    all.addAll(List.of(tail));
    return all.toArray(String[]::new);
  }

  private static final class SimulatedCrash extends RuntimeException {}
}
