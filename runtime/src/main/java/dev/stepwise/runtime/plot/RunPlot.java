package dev.stepwise.runtime.plot;

import dev.stepwise.runtime.checkpoint.CheckpointStore;
import dev.stepwise.runtime.checkpoint.Manifest;
import dev.stepwise.runtime.checkpoint.RunLayout;
import dev.stepwise.runtime.plot.MetricsHistory.Metric;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Paint;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.text.DecimalFormat;
import java.util.ArrayList;
import java.util.List;
import java.util.SortedMap;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.NumberTickUnit;
import org.jfree.chart.axis.ValueAxis;
import org.jfree.chart.plot.CombinedDomainXYPlot;
import org.jfree.chart.plot.SeriesRenderingOrder;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.title.TextTitle;
import org.jfree.chart.ui.RectangleAnchor;
import org.jfree.chart.ui.TextAnchor;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * The picture of a run: loss (and held-out loss) over steps on top, mean reward and held-out
 * accuracy below when the run has them, and a vertical line at each complete checkpoint (dashed
 * grey; red for one written on a stop signal). Needs {@code java.awt.headless} set before AWT
 * loads, which {@code stepwise plot} does.
 */
public final class RunPlot {

  private static final Color LOSS = new Color(0x1f77b4);
  private static final Color EVAL_LOSS = new Color(0xff7f0e);
  private static final Color REWARD = new Color(0x2ca02c);
  private static final Color ACCURACY = new Color(0x9467bd);
  private static final Color CHECKPOINT = new Color(0x888888);
  private static final Color PREEMPTION = new Color(0xd62728);
  private static final Color GRID = new Color(0xdddddd);

  /** A loss spanning this many times from its lowest to its highest value goes on a log axis. */
  static final double LOG_SCALE_SPAN = 20;

  /** One checkpoint to mark: its step and whether a stop signal wrote it. */
  public record CheckpointMark(long step, boolean preemption) {}

  private RunPlot() {}

  /** The complete checkpoints of {@code runDir} (those with a manifest), ascending. */
  public static List<CheckpointMark> checkpoints(Path runDir) {
    var store = new CheckpointStore(new RunLayout(runDir));
    var marks = new ArrayList<CheckpointMark>();
    for (var step : store.completeSteps()) {
      var reason = store.manifest(step).reason();
      marks.add(new CheckpointMark(step, Manifest.REASON_PREEMPTION.equals(reason)));
    }
    return marks;
  }

  /** The chart of {@code log} with {@code checkpoints} marked. */
  public static JFreeChart chart(
      String title, MetricsHistory log, List<CheckpointMark> checkpoints) {
    var steps = new NumberAxis("step");
    steps.setStandardTickUnits(NumberAxis.createIntegerTickUnits());
    steps.setAutoRangeIncludesZero(false);
    var combined = new CombinedDomainXYPlot(steps);
    combined.setGap(12);
    var plots = new ArrayList<XYPlot>();
    if (log.has(Metric.LOSS) || log.has(Metric.EVAL_LOSS)) {
      var data = new XYSeriesCollection();
      var colors = new ArrayList<Color>();
      add(data, colors, "loss", log.series(Metric.LOSS), LOSS);
      add(data, colors, "held-out loss", log.series(Metric.EVAL_LOSS), EVAL_LOSS);
      plots.add(subplot(data, colors, lossAxis(log)));
    }
    if (log.has(Metric.MEAN_REWARD) || log.has(Metric.EVAL_ACCURACY)) {
      var data = new XYSeriesCollection();
      var colors = new ArrayList<Color>();
      add(data, colors, "mean reward", log.series(Metric.MEAN_REWARD), REWARD);
      add(data, colors, "held-out accuracy", log.series(Metric.EVAL_ACCURACY), ACCURACY);
      var axis = new NumberAxis(axisLabel(log));
      axis.setAutoRangeIncludesZero(false);
      plots.add(subplot(data, colors, axis));
    }
    if (plots.isEmpty()) {
      throw new MetricsHistory.MalformedMetricsException(
          log.file() + ": no line has loss, evalLoss, meanReward or evalAccuracy: nothing to plot");
    }
    for (var i = 0; i < plots.size(); i++) {
      for (var mark : checkpoints) {
        plots.get(i).addDomainMarker(marker(mark, i == 0));
      }
      combined.add(plots.get(i), 1);
    }
    var chart = new JFreeChart(title, new Font("SansSerif", Font.BOLD, 16), combined, true);
    chart.setBackgroundPaint(Color.WHITE);
    chart.addSubtitle(new TextTitle(describe(checkpoints), new Font("SansSerif", Font.PLAIN, 11)));
    return chart;
  }

  /** Writes {@code chart} as a {@code width} x {@code height} PNG, atomically. */
  public static void writePng(JFreeChart chart, Path output, int width, int height)
      throws IOException {
    var parent = output.toAbsolutePath().getParent();
    Files.createDirectories(parent);
    // Not Files.createTempFile: its owner-only permissions would stay on the picture.
    var tmp = parent.resolve("." + output.getFileName() + "." + System.nanoTime() + ".tmp");
    try {
      try (OutputStream out = Files.newOutputStream(tmp, StandardOpenOption.CREATE_NEW)) {
        ChartUtils.writeChartAsPNG(out, chart, width, height);
      }
      Files.move(tmp, output, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  private static void add(
      XYSeriesCollection data,
      List<Color> colors,
      String name,
      SortedMap<Long, Double> points,
      Color color) {
    if (points.isEmpty()) {
      return;
    }
    var series = new XYSeries(name, true, false);
    points.forEach(series::add);
    data.addSeries(series);
    colors.add(color);
  }

  private static XYPlot subplot(XYSeriesCollection data, List<Color> colors, ValueAxis axis) {
    var renderer = new XYLineAndShapeRenderer(true, false);
    for (var i = 0; i < colors.size(); i++) {
      renderer.setSeriesPaint(i, colors.get(i));
      renderer.setSeriesStroke(i, new BasicStroke(1.6f));
      // Sparse series (evaluations every few hundred steps) also get a dot per point.
      var sparse = data.getSeries(i).getItemCount() <= 60;
      renderer.setSeriesShapesVisible(i, sparse);
    }
    var plot = new XYPlot(data, null, axis, renderer);
    plot.setSeriesRenderingOrder(SeriesRenderingOrder.FORWARD); // sparse (eval) series on top
    plot.setBackgroundPaint(Color.WHITE);
    plot.setDomainGridlinePaint(GRID);
    plot.setRangeGridlinePaint(GRID);
    plot.setOutlinePaint(Color.LIGHT_GRAY);
    return plot;
  }

  private static ValueAxis lossAxis(MetricsHistory log) {
    var min = Double.MAX_VALUE;
    var max = -Double.MAX_VALUE;
    for (var metric : List.of(Metric.LOSS, Metric.EVAL_LOSS)) {
      for (var v : log.series(metric).values()) {
        min = Math.min(min, v);
        max = Math.max(max, v);
      }
    }
    if (min > 0 && max / min >= LOG_SCALE_SPAN) {
      var axis = new LogAxis("loss (log scale)");
      axis.setSmallestValue(min / 2);
      axis.setBase(2); // ticks at powers of two: 0.125, 0.25, ..., 4, 8
      axis.setAutoTickUnitSelection(false);
      axis.setTickUnit(new NumberTickUnit(1));
      axis.setNumberFormatOverride(new DecimalFormat("0.####"));
      return axis;
    }
    var axis = new NumberAxis("loss");
    axis.setAutoRangeIncludesZero(false);
    return axis;
  }

  private static String axisLabel(MetricsHistory log) {
    var reward = log.has(Metric.MEAN_REWARD);
    var accuracy = log.has(Metric.EVAL_ACCURACY);
    return reward && accuracy ? "reward / accuracy" : reward ? "mean reward" : "held-out accuracy";
  }

  private static ValueMarker marker(CheckpointMark mark, boolean labelled) {
    Paint paint = mark.preemption() ? PREEMPTION : CHECKPOINT;
    var marker =
        new ValueMarker(
            mark.step(),
            paint,
            new BasicStroke(
                1f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {4f, 3f}, 0f));
    if (labelled) {
      marker.setLabel(Long.toString(mark.step()));
      marker.setLabelFont(new Font("SansSerif", Font.PLAIN, 10));
      marker.setLabelPaint(paint);
      marker.setLabelBackgroundColor(new Color(255, 255, 255, 0));
      marker.setLabelAnchor(RectangleAnchor.TOP_LEFT);
      marker.setLabelTextAnchor(TextAnchor.TOP_RIGHT);
    }
    return marker;
  }

  private static String describe(List<CheckpointMark> checkpoints) {
    if (checkpoints.isEmpty()) {
      return "no complete checkpoints";
    }
    var preempted = checkpoints.stream().filter(CheckpointMark::preemption).count();
    return "dashed lines: the "
        + checkpoints.size()
        + " complete checkpoint"
        + (checkpoints.size() == 1 ? "" : "s")
        + " on disk"
        + (preempted > 0 ? " (red: written on a stop signal)" : "");
  }
}
