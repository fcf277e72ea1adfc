package dev.stepwise.runtime.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.api.CheckpointMetric;
import dev.stepwise.api.CheckpointMetrics;
import dev.stepwise.api.KeepBestSpec;
import dev.stepwise.api.MetricOrder;
import dev.stepwise.api.retention.Retention;
import dev.stepwise.api.retention.RetentionRules;
import dev.stepwise.api.retention.StoredCheckpoint;
import dev.stepwise.runtime.TestModels;
import dev.stepwise.runtime.checkpoint.CheckpointStore;
import dev.stepwise.runtime.checkpoint.RunLayout;
import dev.stepwise.runtime.cli.MainRun;
import dev.stepwise.runtime.plot.MetricsHistory;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A short SFT run with {@code --ckpt.keep 2 --ckpt.keep-every 4 --ckpt.keep-best.* --ckpt.max-bytes
 * ...}, saving every step: the step folders left on disk are exactly those that the shared {@link
 * Retention} decision, applied after each save as the trainer does, keeps.
 */
class LocalRetentionRunTest {

  private static final List<String> TINY =
      TestModels.around(
          List.of("@", Path.of("../examples/reverse-text/sft.toml").toString()),
          TestModels.TINY,
          List.of("--data.batch-size", "8", "--eval.samples", "8"));

  @TempDir Path tmp;

  private static MainRun sft(Path dir, String... flags) throws Exception {
    var args = new ArrayList<>(List.of("sft"));
    args.addAll(TINY);
    args.addAll(List.of(flags));
    args.addAll(List.of("--output-dir", dir.toString()));
    var run = CompletableFuture.supplyAsync(() -> MainRun.of(args)).get(5, TimeUnit.MINUTES);
    assertEquals(0, run.status(), run.out() + run.err());
    return run;
  }

  private static long sizeOnDisk(Path dir) throws IOException {
    try (var files = Files.walk(dir)) {
      return files.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
    }
  }

  @Test
  void theFoldersLeftAreExactlyWhatRetentionDecidesAfterEachSave() throws Exception {
    // The size of one checkpoint of this model, to set a quota of about 4.5 checkpoints.
    var probe = tmp.resolve("probe");
    sft(probe, "--max-steps", "1", "--ckpt");
    var size = sizeOnDisk(new RunLayout(probe).stepDir(1));
    var maxBytes = size * 9 / 2;
    var steps = 14;

    var dir = tmp.resolve("run");
    var run =
        sft(
            dir,
            "--max-steps",
            String.valueOf(steps),
            "--ckpt.interval",
            "1",
            "--ckpt.keep",
            "2",
            "--ckpt.keep-every",
            "4",
            "--ckpt.keep-best.metric",
            "loss",
            "--ckpt.keep-best.order",
            "max",
            "--ckpt.keep-best.count",
            "2",
            "--ckpt.max-bytes",
            String.valueOf(maxBytes));

    // Replay: after the save of step n, decide over what the previous saves left plus n.
    var losses =
        MetricsHistory.read(new RunLayout(dir).metricsLog()).series(MetricsHistory.Metric.LOSS);
    assertEquals(steps, losses.size(), "a loss per step in metrics.jsonl");
    var rules =
        new RetentionRules(
            2, 4, new KeepBestSpec(CheckpointMetric.loss, MetricOrder.max, 2), maxBytes);
    var store = new CheckpointStore(new RunLayout(dir));
    var kept = new TreeSet<Long>();
    var deletedByQuota = 0;
    var t0 = Instant.parse("2026-01-01T00:00:00Z");
    for (long n = 1; n <= steps; n++) {
      kept.add(n);
      var stored = new ArrayList<StoredCheckpoint>();
      for (var step : kept) {
        var metrics = new CheckpointMetrics();
        metrics.setLoss(asRecorded(losses.get(step)));
        stored.add(
            new StoredCheckpoint(step, t0.plusSeconds(step).toString(), size, metrics, false));
      }
      var decision = Retention.decide(rules, stored, Set.of(n));
      kept = new TreeSet<>(decision.kept().keySet());
      deletedByQuota +=
          (int)
              decision.deletions().stream()
                  .filter(d -> d.reason().startsWith("over maxBytes"))
                  .count();
    }

    assertEquals(List.copyOf(kept), store.completeSteps());
    assertTrue(deletedByQuota > 0, "the quota took part");
    assertTrue(kept.contains(12L), "a milestone stays");
    assertTrue(run.out().contains("checkpoint retention: deleted steps"), run.out());
    // The manifests record the losses retention ranked them by, and their sizes are alike.
    var recorded = new TreeMap<Long, Double>();
    for (var step : store.completeSteps()) {
      var manifest = store.manifest(step);
      assertNotNull(manifest.metrics(), "metrics in the manifest of step " + step);
      recorded.put(step, manifest.metrics().getLoss());
      var onDisk = sizeOnDisk(store.layout().stepDir(step));
      assertTrue(Math.abs(onDisk - size) < 64, step + ": " + onDisk + " vs " + size);
    }
    var expected = new TreeMap<Long, Double>();
    kept.forEach(step -> expected.put(step, asRecorded(losses.get(step))));
    assertEquals(Map.copyOf(expected), Map.copyOf(recorded));
  }

  /** A loss as manifests record it (6 significant digits; metrics.jsonl keeps them all). */
  private static double asRecorded(double loss) {
    return new BigDecimal(loss).round(new MathContext(6, RoundingMode.HALF_EVEN)).doubleValue();
  }
}
