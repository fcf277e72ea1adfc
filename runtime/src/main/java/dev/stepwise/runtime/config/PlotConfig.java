package dev.stepwise.runtime.config;

/** Configuration of {@code stepwise plot}: which run, and the picture written. */
public record PlotConfig(
    @Doc("The run directory whose metrics.jsonl is plotted (the bare argument)") String runDir,
    @Doc("PNG written (default: <run dir>/plot.png)") String output,
    @Doc("Width in pixels, 100 to 10000") int width,
    @Doc("Height in pixels, 100 to 10000") int height,
    @Doc("Logging") LogConfig log) {

  public static PlotConfig defaults() {
    return new PlotConfig(null, null, 1000, 600, LogConfig.defaults());
  }
}
