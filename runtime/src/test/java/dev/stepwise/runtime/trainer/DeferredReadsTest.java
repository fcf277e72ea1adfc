package dev.stepwise.runtime.trainer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.stepwise.runtime.checkpoint.CheckpointStore;
import dev.stepwise.runtime.checkpoint.CheckpointWriter;
import dev.stepwise.runtime.checkpoint.Manifest;
import dev.stepwise.runtime.checkpoint.RunLayout;
import dev.stepwise.runtime.log.LogCapture;
import dev.stepwise.runtime.util.StopSignal;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Deferred reads (a step's loss read after the next step is queued, the default on a GPU with one
 * rank) forced on the CPU: every number, log line, metrics line and checkpoint is the same as with
 * every step read at once; steps that save, evaluate or end the run are still read before the next
 * step changes the weights; a stop signal stops after the step queued when it was seen.
 */
class DeferredReadsTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern STEP_LINE = Pattern.compile("step (\\d+)/\\d+ \\| loss (\\S+)");
  private static final List<String> FILES =
      List.of("model-rank0-of-1.safetensors", "optimizer-rank0-of-1.safetensors", "progress.json");

  @TempDir Path tmp;

  private static final String[] FLAGS = {
    "--max-steps",
    "11",
    "--ckpt.interval",
    "3",
    "--eval.samples",
    "8",
    "--eval.interval",
    "4",
    "--log.interval",
    "1"
  };

  private record Run(SftTrainer.Result result, String log) {}

  private static Run train(Path run, boolean deferred, StopSignal stop, String... flags) {
    var out = new ByteArrayOutputStream();
    var stream = new PrintStream(out, true, StandardCharsets.UTF_8);
    return train(run, deferred, stop, out, stream, flags);
  }

  private static Run train(
      Path run,
      boolean deferred,
      StopSignal stop,
      ByteArrayOutputStream out,
      PrintStream log,
      String... flags) {
    SftTrainer.Result result;
    try (var scope = LogCapture.into(log, name -> true)) {
      result =
          new SftTrainer(SftTrainerTest.config(run, flags), CheckpointWriter.FileListener.NONE)
              .stopOn(stop)
              .deferringReads(deferred)
              .run();
    }
    return new Run(result, out.toString(StandardCharsets.UTF_8));
  }

  /** metrics.jsonl without its clock fields (time, tokensPerSecond). */
  private static List<String> metricsWithoutTimes(Path run) throws IOException {
    var lines = new ArrayList<String>();
    for (var line : Files.readAllLines(new RunLayout(run).metricsLog())) {
      var entry = (ObjectNode) JSON.readTree(line);
      entry.remove("time");
      entry.remove("tokensPerSecond");
      lines.add(entry.toString());
    }
    return lines;
  }

  /** {@code step N loss X} for each step log line, in the order logged. */
  private static List<String> stepLines(String log) {
    var lines = new ArrayList<String>();
    var m = STEP_LINE.matcher(log);
    while (m.find()) {
      lines.add(m.group(1) + " " + m.group(2));
    }
    return lines;
  }

  private static byte[] file(Path run, long step, String name) throws IOException {
    return Files.readAllBytes(new RunLayout(run).componentDir(step, "trainer").resolve(name));
  }

  @Test
  void deferredReadsChangeNoNumberLineOrCheckpoint() throws IOException {
    var atOnce = tmp.resolve("at-once");
    var deferred = tmp.resolve("deferred");
    var a = train(atOnce, false, StopSignal.none(), FLAGS);
    var b = train(deferred, true, StopSignal.none(), FLAGS);

    assertEquals(11, b.result().progress().step());
    assertEquals(a.result().firstLoss(), b.result().firstLoss());
    assertEquals(a.result().lastLoss(), b.result().lastLoss());
    assertEquals(a.result().heldOutAccuracy(), b.result().heldOutAccuracy());
    var steps = stepLines(b.log());
    assertEquals(11, steps.size(), b.log());
    assertEquals(stepLines(a.log()), steps, "step lines, in order");
    var metrics = metricsWithoutTimes(deferred);
    assertEquals(metricsWithoutTimes(atOnce), metrics);
    for (var i = 0; i < metrics.size(); i++) {
      assertEquals(i + 1, JSON.readTree(metrics.get(i)).get("step").asLong(), "metrics in order");
    }
    assertTrue(metrics.get(3).contains("evalLoss"), "step 4 evaluated: " + metrics.get(3));
    var saved = new CheckpointStore(new RunLayout(deferred)).completeSteps();
    assertEquals(List.of(3L, 6L, 9L, 11L), saved);
    assertEquals(saved, new CheckpointStore(new RunLayout(atOnce)).completeSteps());
    for (var step : saved) {
      for (var name : FILES) {
        assertArrayEquals(file(atOnce, step, name), file(deferred, step, name), step + "/" + name);
      }
    }
  }

  @Test
  void aStopSignalStopsAfterTheStepQueuedWhenItWasSeenAndTheResumeLosesNothing()
      throws IOException {
    var stopped = tmp.resolve("stopped");
    var stop = StopSignal.manual(Duration.ofSeconds(60));
    // The signal arrives as step 3's line is logged: with reads deferred that is after step 4 was
    // queued, so step 4 is the step in flight.
    var out = new ByteArrayOutputStream();
    var log = StopOnSignalTest.signalAtStep(new StopSignal[] {stop}, 3, out);
    var flags = new String[] {"--max-steps", "8", "--ckpt.interval", "6", "--log.interval", "1"};
    var run = train(stopped, true, stop, out, log, flags);
    assertEquals(4, run.result().progress().step(), run.log());
    assertTrue(run.log().contains("stopped by SIGTERM after step 4"), run.log());
    assertEquals(
        List.of("1", "2", "3", "4"),
        stepLines(run.log()).stream().map(l -> l.split(" ")[0]).toList());
    var store = new CheckpointStore(new RunLayout(stopped));
    assertEquals(List.of(4L), store.completeSteps());
    assertEquals(Manifest.REASON_PREEMPTION, store.manifest(4).reason());

    train(
        stopped,
        true,
        StopSignal.none(),
        "--max-steps",
        "8",
        "--ckpt.interval",
        "6",
        "--ckpt.resume-step",
        "4");
    var reference = tmp.resolve("reference");
    train(reference, false, StopSignal.none(), "--max-steps", "8", "--ckpt.interval", "6");
    assertEquals(List.of(4L, 6L, 8L), store.completeSteps());
    for (var name : FILES) {
      assertArrayEquals(file(reference, 8, name), file(stopped, 8, name), name);
    }
  }
}
