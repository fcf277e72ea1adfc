package dev.stepwise.runtime.metrics;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stepwise.runtime.checkpoint.AtomicFiles;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code <run>/metrics.jsonl}, the per-step history of a run: one JSON object per line, appended by
 * rank 0 of the trainer after each step (see {@link Entry} for the keys). It always holds the run's
 * current history: {@link #open} first drops the lines of steps after the step training resumes
 * from (rewriting the file atomically), so a resumed or rolled-back run continues a clean log.
 * Readers ({@link #read}, {@code stepwise plot}) skip a torn last line left by a crash.
 */
public final class MetricsLog implements AutoCloseable {

  /** {@link Entry#role} of the trainer's lines. */
  public static final String TRAINER = "trainer";

  private static final ObjectMapper JSON =
      new ObjectMapper().disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  /**
   * One line. {@code samples} and {@code tokens} are cumulative over the run; {@code
   * tokensPerSecond} is that step's; {@code evalLoss} and {@code evalAccuracy} are present on steps
   * where held-out evaluation ran, {@code meanReward} on RL steps (the mean reward of the rollouts
   * trained on). A value that is not a finite number is left out.
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  @JsonPropertyOrder({
    "time",
    "role",
    "step",
    "loss",
    "samples",
    "tokens",
    "tokensPerSecond",
    "lr",
    "evalLoss",
    "evalAccuracy",
    "meanReward"
  })
  public record Entry(
      @JsonProperty("time") String time,
      @JsonProperty("role") String role,
      @JsonProperty("step") long step,
      @JsonProperty("loss") Double loss,
      @JsonProperty("samples") Long samples,
      @JsonProperty("tokens") Long tokens,
      @JsonProperty("tokensPerSecond") Double tokensPerSecond,
      @JsonProperty("lr") Double lr,
      @JsonProperty("evalLoss") Double evalLoss,
      @JsonProperty("evalAccuracy") Double evalAccuracy,
      @JsonProperty("meanReward") Double meanReward) {

    public Entry {
      loss = finite(loss);
      tokensPerSecond = finite(tokensPerSecond);
      lr = finite(lr);
      evalLoss = finite(evalLoss);
      evalAccuracy = finite(evalAccuracy);
      meanReward = finite(meanReward);
    }

    private static Double finite(Double value) {
      return value == null || !Double.isFinite(value) ? null : value;
    }
  }

  private final Path file;
  private final OutputStream out;

  private MetricsLog(Path file, OutputStream out) {
    this.file = file;
    this.out = out;
  }

  /**
   * Opens {@code file} for appending after dropping every line of a step after {@code resumedStep}
   * (0 for a fresh run: the whole old history goes) and any torn line.
   */
  public static MetricsLog open(Path file, long resumedStep) {
    try {
      truncate(file, resumedStep);
      Files.createDirectories(file.toAbsolutePath().getParent());
      var out = Files.newOutputStream(file, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
      return new MetricsLog(file, new BufferedOutputStream(out));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open the metrics log " + file + ": " + e, e);
    }
  }

  public Path file() {
    return file;
  }

  /** Appends {@code entry} as one line, flushed (a crash loses at most this line). */
  public void append(Entry entry) {
    try {
      out.write(line(entry));
      out.flush();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot append to the metrics log " + file + ": " + e, e);
    }
  }

  /** The entries of {@code file} in order (none when it does not exist); torn lines skipped. */
  public static List<Entry> read(Path file) throws IOException {
    var entries = new ArrayList<Entry>();
    if (!Files.exists(file)) {
      return entries;
    }
    for (var line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
      var entry = parse(line);
      if (entry != null) {
        entries.add(entry);
      }
    }
    return entries;
  }

  private static void truncate(Path file, long resumedStep) throws IOException {
    if (!Files.exists(file)) {
      return;
    }
    var bytes = Files.readAllBytes(file);
    var text = new String(bytes, StandardCharsets.UTF_8);
    var kept = new StringBuilder();
    var dropped = false;
    for (var line : text.split("\n", -1)) {
      if (line.isEmpty()) {
        continue;
      }
      var entry = parse(line);
      if (entry == null || entry.step() > resumedStep) {
        dropped = true;
      } else {
        kept.append(line).append('\n');
      }
    }
    if (dropped || (bytes.length > 0 && bytes[bytes.length - 1] != '\n')) {
      AtomicFiles.write(file, kept.toString().getBytes(StandardCharsets.UTF_8));
    }
  }

  private static Entry parse(String line) {
    if (line.isBlank()) {
      return null;
    }
    try {
      return JSON.readValue(line, Entry.class);
    } catch (JsonProcessingException torn) {
      return null;
    }
  }

  private static byte[] line(Entry entry) {
    try {
      var bytes = JSON.writeValueAsBytes(entry);
      var line = new byte[bytes.length + 1];
      System.arraycopy(bytes, 0, line, 0, bytes.length);
      line[bytes.length] = '\n';
      return line;
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() {
    try {
      out.close();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot close the metrics log " + file + ": " + e, e);
    }
  }
}
