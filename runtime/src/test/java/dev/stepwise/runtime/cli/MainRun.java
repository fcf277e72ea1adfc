package dev.stepwise.runtime.cli;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.TreeMap;
import java.util.regex.Pattern;

/** One in-process {@code stepwise} command line in a test: its exit status and its output. */
public record MainRun(int status, String out, String err) {

  /** Runs {@code args} through {@link Main#run}, capturing stdout and stderr. */
  public static MainRun of(List<String> args) {
    var out = new ByteArrayOutputStream();
    var err = new ByteArrayOutputStream();
    var status =
        Main.run(
            args,
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
    return new MainRun(
        status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  /** Step to loss, from the log lines {@code stepLine} matches (groups: step, loss). */
  public TreeMap<Long, Double> losses(Pattern stepLine) {
    var losses = new TreeMap<Long, Double>();
    var m = stepLine.matcher(out);
    while (m.find()) {
      losses.put(Long.parseLong(m.group(1)), Double.parseDouble(m.group(2)));
    }
    return losses;
  }
}
