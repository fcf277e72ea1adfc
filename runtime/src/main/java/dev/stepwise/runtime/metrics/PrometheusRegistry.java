package dev.stepwise.runtime.metrics;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;

/**
 * The metrics of one role in the Prometheus text exposition format 0.0.4, each sample labelled
 * {@code role="<role>"}. Values are set from any thread and read by the scrape; a gauge never set
 * is rendered with its HELP and TYPE lines only.
 */
public final class PrometheusRegistry {

  /** The content type of {@link #render()}. */
  public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

  private static final Pattern NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");

  private final String role;
  private final List<Metric> metrics = new ArrayList<>();

  public PrometheusRegistry(String role) {
    this.role = role;
  }

  /** One time series: a gauge or a counter. */
  public static final class Metric {
    private final String name;
    private final String help;
    private final String type;
    private final AtomicLong bits = new AtomicLong(Double.doubleToRawLongBits(Double.NaN));
    private volatile boolean set;

    private Metric(String name, String help, String type) {
      this.name = name;
      this.help = help;
      this.type = type;
    }

    public void set(double value) {
      bits.set(Double.doubleToRawLongBits(value));
      set = true;
    }

    /** Adds {@code delta} to a counter. */
    public void add(double delta) {
      bits.accumulateAndGet(
          Double.doubleToRawLongBits(delta),
          (current, d) ->
              Double.doubleToRawLongBits(
                  Double.longBitsToDouble(current) + Double.longBitsToDouble(d)));
    }

    /** The value, NaN while never set. */
    public double get() {
      return set ? Double.longBitsToDouble(bits.get()) : Double.NaN;
    }

    public String name() {
      return name;
    }
  }

  /** A gauge, rendered once it has been {@link Metric#set}. */
  public synchronized Metric gauge(String name, String help) {
    return register(name, help, "gauge", false);
  }

  /** A counter, starting at 0. */
  public synchronized Metric counter(String name, String help) {
    return register(name, help, "counter", true);
  }

  private Metric register(String name, String help, String type, boolean zero) {
    if (!NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("not a Prometheus metric name: " + name);
    }
    if (metrics.stream().anyMatch(m -> m.name.equals(name))) {
      throw new IllegalArgumentException("metric " + name + " is already registered");
    }
    var metric = new Metric(name, help, type);
    if (zero) {
      metric.set(0);
    }
    metrics.add(metric);
    return metric;
  }

  /** Every metric, in registration order. */
  public synchronized String render() {
    var text = new StringBuilder();
    var label = "{role=\"" + escapeLabel(role) + "\"}";
    for (var m : metrics) {
      text.append("# HELP ").append(m.name).append(' ').append(escapeHelp(m.help)).append('\n');
      text.append("# TYPE ").append(m.name).append(' ').append(m.type).append('\n');
      if (m.set) {
        text.append(m.name).append(label).append(' ').append(format(m.get())).append('\n');
      }
    }
    return text.toString();
  }

  static String format(double value) {
    if (Double.isNaN(value)) {
      return "NaN";
    }
    if (Double.isInfinite(value)) {
      return value > 0 ? "+Inf" : "-Inf";
    }
    if (value == Math.rint(value) && Math.abs(value) < 1e15) {
      return Long.toString((long) value);
    }
    return String.format(Locale.ROOT, "%s", value);
  }

  private static String escapeHelp(String help) {
    return help.replace("\\", "\\\\").replace("\n", "\\n");
  }

  private static String escapeLabel(String value) {
    return value.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
  }
}
