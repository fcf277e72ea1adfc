package dev.stepwise.runtime.cli;

import dev.stepwise.runtime.checkpoint.RunLayout;
import dev.stepwise.runtime.config.ConfigException;
import dev.stepwise.runtime.config.PlotConfig;
import dev.stepwise.runtime.plot.MetricsHistory;
import dev.stepwise.runtime.plot.RunPlot;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code stepwise plot <run dir> [--output file.png] [--width W] [--height H]}: a PNG of the run's
 * loss, mean reward and held-out accuracy over steps (from {@code metrics.jsonl}), with its
 * complete checkpoints marked.
 */
final class PlotCommand {

  static final String DEFAULT_OUTPUT = "plot.png";

  private static final Logger LOG = LoggerFactory.getLogger(PlotCommand.class);

  private PlotCommand() {}

  static int run(List<String> args, PrintStream out) {
    var config =
        Commands.parse(
            PlotConfig.class, args, List.of("run-dir"), out, HELP + "\n", PlotConfig::log);
    if (config == null) {
      return 0;
    }
    var problems = new ArrayList<String>();
    pixels("--width", config.width(), problems);
    pixels("--height", config.height(), problems);
    var runDir = config.runDir() == null ? null : Path.of(config.runDir());
    if (runDir == null) {
      problems.add("plot: expected a run directory (stepwise plot <run dir> [--output file.png])");
    } else if (!Files.isDirectory(runDir)) {
      problems.add(runDir + ": no such run directory");
    }
    if (!problems.isEmpty()) {
      throw new ConfigException(problems);
    }
    var output =
        config.output() == null ? runDir.resolve(DEFAULT_OUTPUT) : Path.of(config.output());
    // Before any AWT class loads: no display, and no toolkit that would look for one.
    System.setProperty("java.awt.headless", "true");
    try {
      var log = MetricsHistory.read(new RunLayout(runDir).metricsLog());
      if (log.truncatedTail()) {
        LOG.info(
            "plot: skipped the last line of " + log.file() + " (incomplete: still being written?)");
      }
      Charts.write(runDir, log, output, config.width(), config.height());
    } catch (MetricsHistory.MalformedMetricsException e) {
      LOG.error("error: " + e.getMessage());
      return 1;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + output + ": " + e.getMessage(), e);
    }
    LOG.info(String.format("plot: wrote %s (%d x %d)", output, config.width(), config.height()));
    return 0;
  }

  private static void pixels(String flag, int value, List<String> problems) {
    if (value < 100 || value > 10_000) {
      problems.add(
          flag + ": must be a whole number of pixels from 100 to 10000, got '" + value + "'");
    }
  }

  /** Kept apart so that the chart classes (and AWT) load only after headless mode is set. */
  private static final class Charts {
    static void write(Path runDir, MetricsHistory log, Path output, int width, int height)
        throws IOException {
      var name = runDir.toAbsolutePath().normalize().getFileName();
      var chart =
          RunPlot.chart("run " + (name == null ? runDir : name), log, RunPlot.checkpoints(runDir));
      RunPlot.writePng(chart, output, width, height);
    }
  }

  private static final String HELP =
      """
      usage: stepwise plot <run dir> [--output file.png] [--width PX] [--height PX]

      Writes a PNG of the run's training loss (and held-out loss), mean reward (RL) and held-out
      accuracy (SFT with eval) over steps, read from <run dir>/metrics.jsonl, with a dashed line at
      each complete checkpoint (checkpoints/step_<n>/manifest.json; red: written on a stop signal).
      Default output: <run dir>/plot.png, 1000 x 600.
      """;
}
