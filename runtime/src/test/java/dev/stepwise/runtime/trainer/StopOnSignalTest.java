package dev.stepwise.runtime.trainer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.runtime.checkpoint.CheckpointAbortedException;
import dev.stepwise.runtime.checkpoint.CheckpointStore;
import dev.stepwise.runtime.checkpoint.CheckpointWriter;
import dev.stepwise.runtime.checkpoint.Manifest;
import dev.stepwise.runtime.checkpoint.RunLayout;
import dev.stepwise.runtime.cli.Main;
import dev.stepwise.runtime.log.Console;
import dev.stepwise.runtime.log.LogCapture;
import dev.stepwise.runtime.util.StopSignal;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A stop signal (SIGTERM, Ctrl-C) during training: the step in flight finishes, is saved as a
 * complete checkpoint (reason Preemption), the trainer exits 0, and a resume from that checkpoint
 * ends bit-identical to a run that was never stopped; a second signal aborts the save before its
 * manifest.
 */
class StopOnSignalTest {

  @TempDir Path tmp;

  /** A log that delivers {@code stop}'s first signal when the trainer prints step {@code at}. */
  static PrintStream signalAtStep(StopSignal[] stop, long at, ByteArrayOutputStream out) {
    var prefix = ("step " + at + "/").getBytes(StandardCharsets.UTF_8);
    return new PrintStream(
        new OutputStream() {
          private final ByteArrayOutputStream line = new ByteArrayOutputStream();

          @Override
          public void write(int b) {
            out.write(b);
            line.write(b);
            if (b == '\n') {
              var bytes = line.toByteArray();
              line.reset();
              if (startsWith(bytes, prefix)) {
                stop[0].received("SIGTERM");
              }
            }
          }
        },
        true,
        StandardCharsets.UTF_8);
  }

  private static boolean startsWith(byte[] bytes, byte[] prefix) {
    if (bytes.length < prefix.length) {
      return false;
    }
    for (var i = 0; i < prefix.length; i++) {
      if (bytes[i] != prefix[i]) {
        return false;
      }
    }
    return true;
  }

  private static SftTrainer trainer(
      Path run, CheckpointWriter.FileListener listener, String... flags) {
    return new SftTrainer(SftTrainerTest.config(run, flags), listener);
  }

  /** Sends every log line of the test's trainer (and its stop signal) to {@code log}. */
  private static Console.Scope logTo(PrintStream log) {
    return LogCapture.into(log, name -> true);
  }

  private static byte[] file(Path run, long step, String name) throws IOException {
    return Files.readAllBytes(new RunLayout(run).componentDir(step, "trainer").resolve(name));
  }

  @Test
  void aSignalSavesTheStepInFlightAndTheResumeLosesNothing() throws IOException {
    var stopped = tmp.resolve("stopped");
    var out = new ByteArrayOutputStream();
    var stop = new StopSignal[1];
    var log = signalAtStep(stop, 3, out);
    stop[0] = StopSignal.manual(Duration.ofSeconds(60));
    SftTrainer.Result result;
    try (var scope = logTo(log)) {
      result =
          trainer(
                  stopped,
                  CheckpointWriter.FileListener.NONE,
                  "--max-steps",
                  "8",
                  "--ckpt.interval",
                  "4",
                  "--log.interval",
                  "1")
              .stopOn(stop[0])
              .run();
    }
    var text = out.toString(StandardCharsets.UTF_8);
    assertEquals(3, result.progress().step(), text);
    assertTrue(text.contains("stopped by SIGTERM after step 3"), text);
    var store = new CheckpointStore(new RunLayout(stopped));
    assertEquals(List.of(3L), store.completeSteps(), "the step in flight, complete");
    assertEquals(Manifest.REASON_PREEMPTION, store.manifest(3).reason());

    // The interval schedule goes on after a resume (4, 8), and nothing is lost.
    SftTrainerTest.train(
        stopped, "--max-steps", "8", "--ckpt.interval", "4", "--ckpt.resume-step", "3");
    var reference = tmp.resolve("reference");
    SftTrainerTest.train(reference, "--max-steps", "8", "--ckpt");
    assertEquals(List.of(3L, 4L, 8L), store.completeSteps());
    assertEquals(null, store.manifest(4).reason(), "an interval save records no reason");
    for (var name :
        List.of(
            "model-rank0-of-1.safetensors", "optimizer-rank0-of-1.safetensors", "progress.json")) {
      assertArrayEquals(file(reference, 8, name), file(stopped, 8, name), name);
    }
  }

  @Test
  void aPreemptionCheckpointCountsForKeep() {
    var run = tmp.resolve("keep");
    var out = new ByteArrayOutputStream();
    var stop = new StopSignal[1];
    var log = signalAtStep(stop, 5, out);
    stop[0] = StopSignal.manual(Duration.ofSeconds(60));
    try (var scope = logTo(log)) {
      trainer(
              run,
              CheckpointWriter.FileListener.NONE,
              "--max-steps",
              "9",
              "--ckpt.interval",
              "2",
              "--ckpt.keep",
              "2",
              "--log.interval",
              "1")
          .stopOn(stop[0])
          .run();
    }
    assertEquals(
        List.of(4L, 5L),
        new CheckpointStore(new RunLayout(run)).completeSteps(),
        "keep 2: the preemption save of step 5 pushed out step 2");
  }

  @Test
  void aSecondSignalAbortsTheSaveBeforeItsManifest() {
    var run = tmp.resolve("aborted");
    var out = new ByteArrayOutputStream();
    var stop = new StopSignal[1];
    var log = signalAtStep(stop, 2, out);
    stop[0] = StopSignal.manual(Duration.ofSeconds(60));
    CheckpointWriter.FileListener secondSignal = file -> stop[0].received("SIGTERM");
    CheckpointAbortedException aborted;
    try (var scope = logTo(log)) {
      aborted =
          assertThrows(
              CheckpointAbortedException.class,
              () ->
                  trainer(
                          run,
                          secondSignal,
                          "--max-steps",
                          "6",
                          "--ckpt",
                          "--ckpt.io-threads",
                          "1",
                          "--log.interval",
                          "1")
                      .stopOn(stop[0])
                      .run());
    }
    assertTrue(aborted.getMessage().contains("no manifest"), aborted.getMessage());
    var layout = new RunLayout(run);
    assertTrue(Files.isDirectory(layout.stepDir(2)), "the save had begun");
    assertFalse(Files.exists(layout.manifest(2)), "but nothing looks complete");
    assertTrue(new CheckpointStore(layout).completeSteps().isEmpty());
  }

  @Test
  void sigtermToARealTrainerProcessExitsZeroWithACompleteCheckpoint() throws Exception {
    var run = tmp.resolve("process");
    var command = new ArrayList<String>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(Main.class.getName());
    command.add("sft");
    command.addAll(List.of(tinyFlags()));
    command.addAll(
        List.of(
            "--output-dir",
            run.toString(),
            "--max-steps",
            "100000",
            "--ckpt",
            "--log.interval",
            "1"));
    var builder = new ProcessBuilder(command).redirectErrorStream(true);
    builder.environment().put("OMP_WAIT_POLICY", "PASSIVE");
    builder.environment().put("OPENBLAS_NUM_THREADS", "1");
    var process = builder.start();
    var lines = new ArrayList<String>();
    var stepLine = Pattern.compile("^step (\\d+)/");
    try (var reader =
        new BufferedReader(
            new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      var signalled = false;
      while ((line = reader.readLine()) != null) {
        lines.add(line);
        var m = stepLine.matcher(line);
        if (!signalled && m.find() && Long.parseLong(m.group(1)) >= 3) {
          // kill -TERM, as Kubernetes and a user do (Process.destroy would close our streams).
          assertEquals(
              0,
              new ProcessBuilder("kill", "-TERM", Long.toString(process.pid())).start().waitFor());
          signalled = true;
        }
      }
      assertTrue(signalled, String.join("\n", lines));
    } finally {
      if (!process.waitFor(60, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    }
    var log = String.join("\n", lines);
    assertEquals(0, process.exitValue(), log);
    var stopped = Pattern.compile("stopped by SIGTERM after step (\\d+)").matcher(log);
    assertTrue(stopped.find(), log);
    var step = Long.parseLong(stopped.group(1));
    assertTrue(step >= 3, log);
    var store = new CheckpointStore(new RunLayout(run));
    assertEquals(List.of(step), store.completeSteps(), log);
    assertEquals(Manifest.REASON_PREEMPTION, store.manifest(step).reason());
  }

  private static String[] tinyFlags() {
    return new String[] {
      "--model.d-model", "32", "--model.n-layers", "1", "--model.n-heads", "2",
      "--model.d-ff", "64", "--model.max-seq-len", "16", "--data.max-len", "5",
      "--data.batch-size", "8", "--eval.samples", "0", "--threads", "1"
    };
  }
}
