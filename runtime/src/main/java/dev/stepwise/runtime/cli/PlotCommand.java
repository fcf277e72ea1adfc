package dev.stepwise.runtime.cli;

import dev.stepwise.runtime.checkpoint.RunLayout;
import dev.stepwise.runtime.config.ConfigException;
import dev.stepwise.runtime.plot.MetricsHistory;
import dev.stepwise.runtime.plot.RunPlot;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code stepwise plot <run dir> [--output file.png] [--width W] [--height H]}: a PNG of the run's
 * loss, mean reward and held-out accuracy over steps (from {@code metrics.jsonl}), with its
 * complete checkpoints marked.
 */
final class PlotCommand {

  static final int DEFAULT_WIDTH = 1000;
  static final int DEFAULT_HEIGHT = 600;
  static final String DEFAULT_OUTPUT = "plot.png";

  private PlotCommand() {}

  static int run(List<String> args, PrintStream out, PrintStream err) {
    Path runDir = null;
    Path output = null;
    var width = DEFAULT_WIDTH;
    var height = DEFAULT_HEIGHT;
    var problems = new ArrayList<String>();
    for (var i = 0; i < args.size(); i++) {
      var arg = args.get(i);
      if (arg.equals("--help") || arg.equals("-h")) {
        out.print(HELP);
        return 0;
      }
      if (arg.startsWith("--")) {
        var name = arg.substring(2);
        if (!List.of("output", "width", "height").contains(name)) {
          problems.add(arg + ": unknown plot option (--output FILE, --width PX, --height PX)");
          continue;
        }
        if (i + 1 >= args.size() || args.get(i + 1).startsWith("--")) {
          problems.add(arg + ": expects a value");
          continue;
        }
        var value = args.get(++i);
        switch (name) {
          case "output" -> output = Path.of(value);
          case "width" -> width = pixels(arg, value, problems);
          default -> height = pixels(arg, value, problems);
        }
      } else if (runDir == null) {
        runDir = Path.of(arg);
      } else {
        problems.add(arg + ": unexpected argument (one run directory)");
      }
    }
    if (runDir == null) {
      problems.add("plot: expected a run directory (stepwise plot <run dir> [--output file.png])");
    } else if (!Files.isDirectory(runDir)) {
      problems.add(runDir + ": no such run directory");
    }
    if (!problems.isEmpty()) {
      throw new ConfigException(problems);
    }
    if (output == null) {
      output = runDir.resolve(DEFAULT_OUTPUT);
    }
    // Before any AWT class loads: no display, and no toolkit that would look for one.
    System.setProperty("java.awt.headless", "true");
    try {
      var log = MetricsHistory.read(new RunLayout(runDir).metricsLog());
      if (log.truncatedTail()) {
        out.println(
            "plot: skipped the last line of " + log.file() + " (incomplete: still being written?)");
      }
      Charts.write(runDir, log, output, width, height);
    } catch (MetricsHistory.MalformedMetricsException e) {
      err.println("error: " + e.getMessage());
      return 1;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + output + ": " + e.getMessage(), e);
    }
    out.printf("plot: wrote %s (%d x %d)%n", output, width, height);
    return 0;
  }

  private static int pixels(String flag, String value, List<String> problems) {
    try {
      var n = Integer.parseInt(value);
      if (n >= 100 && n <= 10_000) {
        return n;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    problems.add(
        flag + ": must be a whole number of pixels from 100 to 10000, got '" + value + "'");
    return 0;
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
