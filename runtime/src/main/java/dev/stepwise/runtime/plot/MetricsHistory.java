package dev.stepwise.runtime.plot;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * A run's {@code metrics.jsonl} as {@code stepwise plot} reads it, strictly (unlike the trainer's
 * own reader, which drops what it cannot parse): one JSON object per line with at least a {@code
 * step}; each of {@link Metric}'s keys may be missing, null or a non-finite number (then that point
 * is skipped). Only a last line without a newline (a write in progress) may be torn. Where a step
 * appears on several lines (a run resumed from an earlier checkpoint logs those steps again), the
 * last line wins: it belongs to the newest timeline.
 */
public final class MetricsHistory {

  private static final JsonMapper JSON =
      JsonMapper.builder().enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();

  /** The metrics the plot draws, by their key in the log. */
  public enum Metric {
    LOSS("loss"),
    EVAL_LOSS("evalLoss"),
    EVAL_ACCURACY("evalAccuracy"),
    MEAN_REWARD("meanReward");

    private final String key;

    Metric(String key) {
      this.key = key;
    }

    public String key() {
      return key;
    }
  }

  private final Path file;
  private final Map<Metric, SortedMap<Long, Double>> series;
  private final boolean truncatedTail;

  private MetricsHistory(
      Path file, Map<Metric, SortedMap<Long, Double>> series, boolean truncatedTail) {
    this.file = file;
    this.series = series;
    this.truncatedTail = truncatedTail;
  }

  /** Reads {@code file}; a malformed line fails naming {@code file:line}. */
  public static MetricsHistory read(Path file) {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw new MalformedMetricsException(
          file + ": no metrics log (the trainer writes it while it trains)");
    } catch (IOException e) {
      throw new MalformedMetricsException(file + ": cannot read: " + e.getMessage());
    }
    var series = new TreeMap<Metric, SortedMap<Long, Double>>();
    for (var metric : Metric.values()) {
      series.put(metric, new TreeMap<>());
    }
    var lines = List.of(text.split("\n", -1));
    var truncatedTail = false;
    for (var i = 0; i < lines.size(); i++) {
      var line = lines.get(i).strip();
      if (line.isEmpty()) {
        continue;
      }
      var last = i == lines.size() - 1; // no newline after it: possibly a write in progress
      JsonNode node;
      try {
        node = JSON.readTree(line);
      } catch (JacksonException e) {
        if (last) {
          truncatedTail = true;
          continue;
        }
        throw malformed(file, i + 1, "not JSON (" + e.getOriginalMessage() + ")");
      }
      if (node == null || !node.isObject()) {
        throw malformed(file, i + 1, "expected a JSON object");
      }
      var step = node.get("step");
      if (step == null || !step.isIntegralNumber() || step.asLong() < 0) {
        throw malformed(file, i + 1, "'step' must be a non-negative integer");
      }
      for (var metric : Metric.values()) {
        var value = value(node, metric.key(), file, i + 1);
        if (value != null) {
          series.get(metric).put(step.asLong(), value);
        }
      }
    }
    return new MetricsHistory(file, series, truncatedTail);
  }

  private static Double value(JsonNode node, String key, Path file, int line) {
    var v = node.get(key);
    if (v == null || v.isNull()) {
      return null;
    }
    double d;
    if (v.isNumber()) {
      d = v.asDouble();
    } else if (v.isTextual() && List.of("NaN", "Infinity", "-Infinity").contains(v.asText())) {
      return null;
    } else {
      throw malformed(file, line, "'" + key + "' must be a number, got " + v);
    }
    return Double.isFinite(d) ? d : null;
  }

  private static MalformedMetricsException malformed(Path file, int line, String why) {
    return new MalformedMetricsException(file + ":" + line + ": " + why);
  }

  public Path file() {
    return file;
  }

  /** Step to value of {@code metric}, ascending by step (empty when the log has none). */
  public SortedMap<Long, Double> series(Metric metric) {
    return series.get(metric);
  }

  /** Whether any line has {@code metric}. */
  public boolean has(Metric metric) {
    return !series.get(metric).isEmpty();
  }

  /** Whether an unparseable last line without a newline (a write in progress) was skipped. */
  public boolean truncatedTail() {
    return truncatedTail;
  }

  /** A metrics log that cannot be read; the message names the file and line. */
  public static final class MalformedMetricsException extends RuntimeException {
    public MalformedMetricsException(String message) {
      super(message);
    }
  }
}
