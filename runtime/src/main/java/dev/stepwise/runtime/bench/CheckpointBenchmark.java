package dev.stepwise.runtime.bench;

import dev.stepwise.runtime.checkpoint.CheckpointStore;
import dev.stepwise.runtime.checkpoint.CheckpointWriter;
import dev.stepwise.runtime.checkpoint.RunLayout;
import dev.stepwise.runtime.config.BenchConfig;
import dev.stepwise.runtime.config.CkptConfig;
import dev.stepwise.runtime.config.DataConfig;
import dev.stepwise.runtime.config.OptimConfig;
import dev.stepwise.runtime.config.SchedulerConfig;
import dev.stepwise.runtime.data.ReverseTextTask;
import dev.stepwise.runtime.model.ByteTokenizer;
import dev.stepwise.runtime.model.Transformer;
import dev.stepwise.runtime.trainer.AdamW;
import dev.stepwise.runtime.trainer.CheckpointSaver;
import dev.stepwise.runtime.trainer.LossFunction;
import dev.stepwise.runtime.trainer.LrSchedule;
import dev.stepwise.runtime.trainer.Progress;
import dev.stepwise.runtime.trainer.Threads;
import dev.stepwise.runtime.trainer.TrainerCheckpoint;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;

/**
 * Measures checkpoint I/O against plain file I/O of the same bytes on the same disk, and the
 * training-step stall that an async save causes against a run that does not save. Every figure is a
 * ratio to a baseline measured in the same run.
 */
public final class CheckpointBenchmark {

  private final BenchConfig config;
  private final PrintStream out;

  public CheckpointBenchmark(BenchConfig config, PrintStream out) {
    this.config = config;
    this.out = out;
  }

  public void run() throws IOException {
    Threads.pin(config.threads());
    var scratch =
        Files.createTempDirectory(
            Files.createDirectories(Path.of(config.outputDir())), ".stepwise-bench-");
    try {
      measure(scratch);
    } finally {
      try (var walk = Files.walk(scratch)) {
        for (var p : walk.sorted(Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(p);
        }
      }
    }
  }

  private void measure(Path scratch) throws IOException {
    var device = new Device("cpu");
    var model = new Transformer(config.model(), ByteTokenizer.VOCAB_SIZE, device, 1);
    var optim = new AdamW(model.parameters(), OptimConfig.defaults());
    var schedule = new LrSchedule(SchedulerConfig.defaults(), 1e-3);
    var data =
        new ReverseTextTask(
            new DataConfig(3, 8, "abcdefghijklmnopqrstuvwxyz", config.batchSize()), 1);
    // One step so that the optimizer state is real (non-zero) before it is saved.
    trainStep(model, optim, data, 1, device);
    var layout = new RunLayout(scratch);
    var writer = new CheckpointWriter(layout);
    var snapshot = snapshot(model, optim, schedule, 1);
    var bytes = snapshot.tensorBytes();
    out.printf(
        "bench: model %,d parameters; checkpoint %.1f MB (model + AdamW state); dir %s%n",
        model.parameterCount(), bytes / 1e6, scratch.toAbsolutePath());

    var ckptWrite = new double[config.repeats()];
    var plainWrite = new double[config.repeats()];
    var ckptLoad = new double[config.repeats()];
    var plainRead = new double[config.repeats()];
    var hashOnly = new double[config.repeats()];
    long ckptBytes = 0;
    for (var r = 0; r < config.repeats(); r++) {
      var t0 = System.nanoTime();
      var manifest = writer.write(1, 1, Map.of(RunLayout.TRAINER, snapshot.files()));
      ckptWrite[r] = seconds(t0);
      ckptBytes = manifest.totalBytes();
      var plain = scratch.resolve("plain.bin");
      t0 = System.nanoTime();
      plainWrite(plain, ckptBytes);
      plainWrite[r] = seconds(t0);

      var store = new CheckpointStore(layout);
      t0 = System.nanoTime();
      TrainerCheckpoint.restore(
          layout.stepDir(1), store.manifest(1), model.parameters(), optim, 0, 1);
      ckptLoad[r] = seconds(t0);
      t0 = System.nanoTime();
      plainRead(plain);
      plainRead[r] = seconds(t0);
      t0 = System.nanoTime();
      hashOnly(ckptBytes);
      hashOnly[r] = seconds(t0);
      Files.delete(plain);
    }
    var mb = ckptBytes / 1e6;
    out.println();
    out.println("checkpoint I/O (median of " + config.repeats() + ", same bytes, same disk):");
    row("write", "checkpoint (safetensors+sha256+fsync)", mb, median(ckptWrite));
    row("", "plain sequential write + fsync", mb, median(plainWrite));
    out.printf("  %-6s ratio checkpoint/plain: %.2f%n", "", median(plainWrite) / median(ckptWrite));
    row("load", "checkpoint (parse+sha256 verify+copy)", mb, median(ckptLoad));
    row("", "plain sequential read", mb, median(plainRead));
    out.printf("  %-6s ratio checkpoint/plain: %.2f%n", "", median(plainRead) / median(ckptLoad));
    row("", "SHA-256 alone, in memory (the bound)", mb, median(hashOnly));
    out.println(
        "  (reads are served from the page cache for both, as a resume right after a save is)");

    out.println();
    out.printf(
        "training-step stall (%d steps, batch %d, save every %d steps):%n",
        config.steps(), config.batchSize(), config.saveEvery());
    var none = stepTimes(scratch.resolve("none"), model, optim, schedule, data, device, null);
    var async =
        stepTimes(scratch.resolve("async"), model, optim, schedule, data, device, Boolean.TRUE);
    var sync =
        stepTimes(scratch.resolve("sync"), model, optim, schedule, data, device, Boolean.FALSE);
    stallRow("no saves", none, none);
    stallRow("async saves", async, none);
    stallRow("sync saves", sync, none);
  }

  private double[] stepTimes(
      Path dir,
      Transformer model,
      AdamW optim,
      LrSchedule schedule,
      ReverseTextTask data,
      Device device,
      Boolean async) {
    var ckpt =
        new CkptConfig(
            "checkpoints",
            config.saveEvery(),
            Boolean.TRUE.equals(async),
            2,
            null,
            CkptConfig.Retention.LOCAL,
            0,
            false);
    var layout = new RunLayout(dir);
    var quiet = new PrintStream(OutputStream.nullOutputStream());
    var times = new double[config.steps()];
    try (var saver =
        async == null
            ? null
            : new CheckpointSaver(
                new CheckpointWriter(layout), new CheckpointStore(layout), ckpt, -1, quiet)) {
      for (var s = 0; s < config.steps(); s++) {
        var step = s + 2;
        var t0 = System.nanoTime();
        trainStep(model, optim, data, step, device);
        if (saver != null && (s + 1) % config.saveEvery() == 0) {
          saver.save(snapshot(model, optim, schedule, step));
        }
        times[s] = seconds(t0);
      }
    }
    return times;
  }

  private void stallRow(String label, double[] times, double[] baseline) {
    var mean = Arrays.stream(times).average().orElse(0);
    var baseMean = Arrays.stream(baseline).average().orElse(0);
    var max = Arrays.stream(times).max().orElse(0);
    var baseMedian = median(baseline);
    // Stall per save: extra wall time over the no-save steps, spread over the saves made.
    var saves = config.steps() / config.saveEvery();
    var stall = (mean - baseMean) * times.length / Math.max(1, saves);
    out.printf(
        "  %-12s mean step %7.1f ms | max step %7.1f ms | %s%n",
        label,
        mean * 1000,
        max * 1000,
        times == baseline
            ? String.format("baseline median %.1f ms", baseMedian * 1000)
            : String.format(
                "stall per save %7.1f ms | slowdown x%.2f", stall * 1000, mean / baseMean));
  }

  private void row(String what, String how, double mb, double seconds) {
    out.printf("  %-6s %-40s %8.1f MB/s  (%.0f ms)%n", what, how, mb / seconds, seconds * 1000);
  }

  private static TrainerCheckpoint.Snapshot snapshot(
      Transformer model, AdamW optim, LrSchedule schedule, long step) {
    return TrainerCheckpoint.capture(
        model.parameters(), optim, new Progress(step, 0, 0), schedule, Map.of(), "# bench\n", 0, 1);
  }

  private static void trainStep(
      Transformer model, AdamW optim, ReverseTextTask data, long step, Device device) {
    try (var scope = new PointerScope()) {
      var batch = data.batch(step, 0, 1, device);
      var loss = LossFunction.maskedNll().loss(model, batch);
      loss.backward();
      optim.step(1e-4);
      optim.zeroGrad();
    }
  }

  private static void plainWrite(Path file, long bytes) throws IOException {
    var chunk = ByteBuffer.allocateDirect(8 << 20);
    try (var ch =
        FileChannel.open(
            file,
            StandardOpenOption.CREATE,
            StandardOpenOption.TRUNCATE_EXISTING,
            StandardOpenOption.WRITE)) {
      var left = bytes;
      while (left > 0) {
        chunk.clear().limit((int) Math.min(chunk.capacity(), left));
        while (chunk.hasRemaining()) {
          left -= ch.write(chunk);
        }
      }
      ch.force(true);
    }
  }

  private static void plainRead(Path file) throws IOException {
    var chunk = ByteBuffer.allocateDirect(8 << 20);
    try (var ch = FileChannel.open(file, StandardOpenOption.READ)) {
      while (ch.read(chunk.clear()) > 0) {
        // discard
      }
    }
  }

  private static void hashOnly(long bytes) {
    var digest = dev.stepwise.runtime.checkpoint.AtomicFiles.sha256();
    var chunk = ByteBuffer.allocateDirect(8 << 20);
    for (var left = bytes; left > 0; left -= chunk.capacity()) {
      digest.update(chunk.clear().limit((int) Math.min(chunk.capacity(), left)));
    }
    digest.digest();
  }

  private static double seconds(long startNanos) {
    return (System.nanoTime() - startNanos) / 1e9;
  }

  private static double median(double[] values) {
    List<Double> sorted = new ArrayList<>();
    for (var v : values) {
      sorted.add(v);
    }
    sorted.sort(null);
    var n = sorted.size();
    return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
  }
}
