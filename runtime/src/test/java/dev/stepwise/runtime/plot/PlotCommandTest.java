package dev.stepwise.runtime.plot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.runtime.checkpoint.Manifest;
import dev.stepwise.runtime.checkpoint.RunLayout;
import dev.stepwise.runtime.cli.MainRun;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code stepwise plot}: a PNG of the requested size from a metrics log; clear errors. */
class PlotCommandTest {

  @TempDir Path run;

  private static final com.fasterxml.jackson.databind.ObjectMapper JSON =
      new com.fasterxml.jackson.databind.ObjectMapper();

  /** A synthetic RL log: loss and mean reward each step, one line without meanReward. */
  private void writeLog(int steps) throws Exception {
    var lines = new StringBuilder();
    for (var step = 1; step <= steps; step++) {
      lines.append(
          "{\"time\":\"2026-12-07T06:00:%02dZ\",\"role\":\"trainer\",\"step\":%d,\"loss\":%s,\"samples\":%d,\"tokens\":%d,\"tokensPerSecond\":1000.5,\"lr\":0.001%s}\n"
              .formatted(
                  step % 60,
                  step,
                  2.0 / step,
                  step * 8,
                  step * 80,
                  step == 3 ? "" : ",\"meanReward\":" + (0.2 + step * 0.03)));
    }
    Files.writeString(new RunLayout(run).metricsLog(), lines);
  }

  private void writeCheckpoint(long step, String reason) throws Exception {
    var layout = new RunLayout(run);
    Files.createDirectories(layout.stepDir(step));
    var manifest =
        new Manifest(
            Manifest.FORMAT,
            Manifest.FORMAT_VERSION,
            step,
            1,
            "2026-12-07T06:00:00Z",
            Map.of(),
            0,
            reason,
            null);
    Files.write(layout.manifest(step), JSON.writeValueAsBytes(manifest));
  }

  @Test
  void writesAPngOfTheRequestedSizeWithTheCheckpointsMarked() throws Exception {
    writeLog(20);
    writeCheckpoint(10, null);
    writeCheckpoint(20, Manifest.REASON_PREEMPTION);
    Files.createDirectories(new RunLayout(run).stepDir(15)); // no manifest: not a checkpoint
    var output = run.resolve("out/picture.png");

    var result =
        MainRun.of(
            List.of(
                "plot",
                run.toString(),
                "--output",
                output.toString(),
                "--width",
                "640",
                "--height",
                "400"));

    assertEquals(0, result.status(), result.err());
    var bytes = Files.readAllBytes(output);
    var image = ImageIO.read(new ByteArrayInputStream(bytes));
    assertNotNull(image, "a PNG ImageIO can read");
    assertEquals(640, image.getWidth());
    assertEquals(400, image.getHeight());
    assertEquals(
        List.of(new RunPlot.CheckpointMark(10, false), new RunPlot.CheckpointMark(20, true)),
        RunPlot.checkpoints(run));
    var log = MetricsHistory.read(new RunLayout(run).metricsLog());
    assertEquals(20, log.series(MetricsHistory.Metric.LOSS).size());
    assertEquals(19, log.series(MetricsHistory.Metric.MEAN_REWARD).size(), "step 3 has none");
    assertFalse(log.has(MetricsHistory.Metric.EVAL_ACCURACY));
  }

  @Test
  void aMalformedLineFailsNamingTheFileAndLine() throws Exception {
    writeLog(4);
    var file = new RunLayout(run).metricsLog();
    var lines = Files.readAllLines(file);
    lines.add(2, "{\"step\": 3, \"loss\": ");
    Files.write(file, lines);

    var result = MainRun.of(List.of("plot", run.toString()));

    assertEquals(1, result.status());
    assertTrue(result.err().contains("error: " + file + ":3: not JSON"), result.err());
    assertFalse(Files.exists(run.resolve("plot.png")));
  }

  @Test
  void aWrongTypeOrAMissingStepIsNamedToo() throws Exception {
    var file = new RunLayout(run).metricsLog();
    Files.writeString(file, "{\"step\": 1, \"loss\": 1.5}\n{\"step\": 2, \"loss\": \"high\"}\n");
    var result = MainRun.of(List.of("plot", run.toString()));
    assertEquals(1, result.status());
    assertTrue(
        result.err().contains(file + ":2: 'loss' must be a number, got \"high\""), result.err());

    Files.writeString(file, "{\"loss\": 1.5}\n");
    result = MainRun.of(List.of("plot", run.toString()));
    assertTrue(
        result.err().contains(file + ":1: 'step' must be a non-negative integer"), result.err());
  }

  @Test
  void aLastLineStillBeingWrittenIsSkippedAndLaterLinesOfAStepWin() throws Exception {
    var file = new RunLayout(run).metricsLog();
    Files.writeString(
        file,
        "{\"step\": 1, \"loss\": 3.0}\n{\"step\": 2, \"loss\": 2.0}\n"
            + "{\"step\": 2, \"loss\": 2.5, \"evalAccuracy\": \"NaN\"}\n{\"step\": 3, \"lo");
    var log = MetricsHistory.read(file);
    assertTrue(log.truncatedTail());
    assertEquals(Map.of(1L, 3.0, 2L, 2.5), log.series(MetricsHistory.Metric.LOSS));
    assertFalse(log.has(MetricsHistory.Metric.EVAL_ACCURACY));
    var result = MainRun.of(List.of("plot", run.toString()));
    assertEquals(0, result.status(), result.err());
    assertTrue(Files.size(run.resolve("plot.png")) > 0);
  }

  @Test
  void badArgumentsAreUsageErrors() {
    var result = MainRun.of(List.of("plot"));
    assertEquals(2, result.status());
    assertTrue(result.err().contains("expected a run directory"), result.err());
    result = MainRun.of(List.of("plot", run.toString(), "--width", "12"));
    assertEquals(2, result.status());
    assertTrue(result.err().contains("--width: must be a whole number of pixels"), result.err());
    result = MainRun.of(List.of("plot", run.resolve("nope").toString()));
    assertTrue(result.err().contains("no such run directory"), result.err());
  }
}
