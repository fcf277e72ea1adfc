package dev.stepwise.runtime.bench;

import dev.stepwise.runtime.checkpoint.CheckpointStore;
import dev.stepwise.runtime.checkpoint.CheckpointWriter;
import dev.stepwise.runtime.checkpoint.Checksum;
import dev.stepwise.runtime.checkpoint.RunLayout;
import dev.stepwise.runtime.config.BenchConfig;
import dev.stepwise.runtime.config.CkptConfig;
import dev.stepwise.runtime.config.DataConfig;
import dev.stepwise.runtime.config.OptimConfig;
import dev.stepwise.runtime.config.SchedulerConfig;
import dev.stepwise.runtime.data.ReverseTextTask;
import dev.stepwise.runtime.log.Console;
import dev.stepwise.runtime.model.ByteTokenizer;
import dev.stepwise.runtime.model.Devices;
import dev.stepwise.runtime.model.Threads;
import dev.stepwise.runtime.model.Transformer;
import dev.stepwise.runtime.trainer.AdamW;
import dev.stepwise.runtime.trainer.CheckpointSaver;
import dev.stepwise.runtime.trainer.HostBuffers;
import dev.stepwise.runtime.trainer.LossFunction;
import dev.stepwise.runtime.trainer.LrSchedule;
import dev.stepwise.runtime.trainer.Progress;
import dev.stepwise.runtime.trainer.TrainerCheckpoint;
import java.io.IOException;
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
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/**
 * Measures checkpoint I/O against plain file I/O of the same bytes on the same disk (the limits)
 * and against Python peers (safetensors, torch where installed) saving and loading the same state,
 * and the training-step stall of an async save against a memory copy of the same bytes and against
 * a run that does not save. Every figure is a ratio to a baseline measured in the same run.
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
    var device = Devices.of(config.device());
    var model = new Transformer(config.model(), ByteTokenizer.VOCAB_SIZE, device, 1);
    var optim = new AdamW(model.parameters(), OptimConfig.defaults());
    var schedule = new LrSchedule(SchedulerConfig.defaults(), 1e-3);
    var data =
        new ReverseTextTask(
            new DataConfig(3, 8, "abcdefghijklmnopqrstuvwxyz", config.batchSize()), 1);
    // One step so that the optimizer state is real (non-zero) before it is saved.
    trainStep(model, optim, data, 1, device);
    var layout = new RunLayout(scratch);
    var ioThreads = CkptConfig.defaults().effectiveIoThreads();
    var writer = new CheckpointWriter(layout).withIoThreads(ioThreads);
    var sha256Writer = writer.withChecksum(Checksum.SHA256);
    var snapshot = snapshot(model, optim, schedule, 1);
    var bytes = snapshot.tensorBytes();
    out.printf(
        "bench: model %,d parameters; checkpoint %.1f MB (model + AdamW state); dir %s;"
            + " %d cores, %d I/O threads; model on %s%n",
        model.parameterCount(),
        bytes / 1e6,
        scratch.toAbsolutePath(),
        Runtime.getRuntime().availableProcessors(),
        ioThreads,
        device.str().getString());

    var n = config.repeats();
    var ckptWrite = new double[n];
    var shaWrite = new double[n];
    var plainWrite = new double[n];
    var ckptLoad = new double[n];
    var plainRead = new double[n];
    var crcOnly = new double[n];
    var shaOnly = new double[n];
    long ckptBytes = 0;
    var store = new CheckpointStore(layout);
    var peerRuns = new ArrayList<List<String>>();
    for (var r = 0; r < n; r++) {
      // Each save is a new step directory, as in training (re-saving a complete step would also
      // time the swap and the deletion of the old copy).
      var t0 = System.nanoTime();
      sha256Writer.write(2, 1, Map.of(RunLayout.TRAINER, snapshot.files()));
      shaWrite[r] = seconds(t0);
      store.delete(2);
      store.delete(1);
      t0 = System.nanoTime();
      var manifest = writer.write(1, 1, Map.of(RunLayout.TRAINER, snapshot.files()));
      ckptWrite[r] = seconds(t0);
      ckptBytes = manifest.totalBytes();
      var plain = scratch.resolve("plain.bin");
      t0 = System.nanoTime();
      plainWrite(plain, snapshot);
      plainWrite[r] = seconds(t0);

      t0 = System.nanoTime();
      TrainerCheckpoint.restore(
          layout.stepDir(1), store.manifest(1), model.parameters(), optim, 0, 1, ioThreads);
      ckptLoad[r] = seconds(t0);
      t0 = System.nanoTime();
      plainRead(plain);
      plainRead[r] = seconds(t0);
      peerRuns.add(runPeers(layout));
      crcOnly[r] = checksumOnly(Checksum.CRC32C, ckptBytes);
      shaOnly[r] = checksumOnly(Checksum.SHA256, ckptBytes);
      Files.delete(plain);
    }
    var mb = ckptBytes / 1e6;
    out.println();
    out.println(
        "checkpoint I/O (median of " + n + ", same bytes, same disk, ratios within this run):");
    row("write", "stepwise save (crc32c, fsync per file)", mb, median(ckptWrite));
    row("", "plain sequential write + fsync (limit)", mb, median(plainWrite));
    ratio("stepwise save / plain write", median(plainWrite) / median(ckptWrite), ">= 0.80");
    row("", "stepwise save, --ckpt.checksum sha256", mb, median(shaWrite));
    row("load", "stepwise load (crc32c verify, in place)", mb, median(ckptLoad));
    row("", "plain sequential read (limit)", mb, median(plainRead));
    ratio("stepwise load / plain read", median(plainRead) / median(ckptLoad), ">= 0.80");
    row("hash", "CRC32C alone, in memory", mb, median(crcOnly));
    row("", "SHA-256 alone, in memory", mb, median(shaOnly));
    out.println(
        "  (reads are served from the page cache for both, as a resume right after a save is)");
    peers(peerRuns, ckptBytes, median(ckptWrite), median(ckptLoad));

    out.println();
    var copy = memoryCopy(ckptBytes);
    out.printf(
        "training-step stall (%d steps, batch %d, save every %d steps):%n",
        config.steps(), config.batchSize(), config.saveEvery());
    row("copy", "memory copy of the same bytes", mb, copy);
    if (device.is_cuda()) {
      // On a GPU the snapshot is a device-to-host copy into pinned memory: that is the floor.
      copy = deviceToHostCopy(ckptBytes, device);
      row("", "device-to-host copy into pinned memory", mb, copy);
    }
    var none = stepTimes(scratch.resolve("none"), model, optim, schedule, data, device, null);
    var async =
        stepTimes(scratch.resolve("async"), model, optim, schedule, data, device, Boolean.TRUE);
    var sync =
        stepTimes(scratch.resolve("sync"), model, optim, schedule, data, device, Boolean.FALSE);
    var none2 = stepTimes(scratch.resolve("none2"), model, optim, schedule, data, device, null);
    var baseline = Runs.pooled(none, none2);
    stallRow("no saves", baseline, baseline, copy);
    stallRow("async saves", async, baseline, copy);
    stallRow("sync saves", sync, baseline, copy);
    ratio(
        "async stall per save / " + (device.is_cuda() ? "device-to-host copy" : "memory copy"),
        median(async.saveSeconds()) / copy,
        "<= 1.5");
    var during = async.duringWriteMean();
    if (Double.isNaN(during)) {
      out.println("  every background write finished before the next step started");
    } else {
      ratio(
          "steps during a background write / no-save steps ("
              + async.duringWriteCount()
              + " steps)",
          during / baseline.stepMean(),
          "<= 1.05");
      ratio(
          "steps during a background write / the same run's other steps",
          during / async.quietMean(),
          "<= 1.05");
    }
  }

  /** Step times of one run, the time each save call blocked, and which steps overlapped a write. */
  private record Runs(
      double[] steps, double[] saveSeconds, double[] waitSeconds, boolean[] duringWrite) {

    static Runs pooled(Runs a, Runs b) {
      var steps =
          java.util.stream.DoubleStream.concat(Arrays.stream(a.steps), Arrays.stream(b.steps))
              .toArray();
      return new Runs(steps, new double[0], new double[0], new boolean[steps.length]);
    }

    double stepMean() {
      return Arrays.stream(steps).average().orElse(Double.NaN);
    }

    double duringWriteMean() {
      var sum = 0.0;
      var count = 0;
      for (var i = 0; i < steps.length; i++) {
        if (duringWrite[i]) {
          sum += steps[i];
          count++;
        }
      }
      return count == 0 ? Double.NaN : sum / count;
    }

    /** Steps of the same run with no write in flight (adjacent in time: load drift cancels). */
    double quietMean() {
      var sum = 0.0;
      var count = 0;
      for (var i = 0; i < steps.length; i++) {
        if (!duringWrite[i]) {
          sum += steps[i];
          count++;
        }
      }
      return count == 0 ? Double.NaN : sum / count;
    }

    int duringWriteCount() {
      var count = 0;
      for (var b : duringWrite) {
        count += b ? 1 : 0;
      }
      return count;
    }
  }

  private void ratio(String what, double value, String target) {
    out.printf("  %-6s ratio %s: %.2f  (target %s)%n", "", what, value, target);
  }

  /**
   * Runs the Python peers once on the checkpoint's tensor files (between this repeat's own
   * measurements, so that load on a shared machine hits both alike); returns their output lines.
   */
  private List<String> runPeers(RunLayout layout) throws IOException {
    if (config.python() == null || config.python().isBlank()) {
      return List.of("note not measured (--python is empty)");
    }
    var script = layout.root().resolve("peers.py");
    if (!Files.exists(script)) {
      try (var in = CheckpointBenchmark.class.getResourceAsStream("peers.py")) {
        Files.write(script, in.readAllBytes());
      }
    }
    var command = new ArrayList<String>();
    command.add(config.python());
    command.add(script.toString());
    command.add(layout.root().toString());
    command.add("1");
    for (var file :
        new CheckpointStore(layout).manifest(1).components().get(RunLayout.TRAINER).files()) {
      if (file.path().endsWith(".safetensors")) {
        command.add(layout.stepDir(1).resolve(file.path()).toString());
      }
    }
    try {
      var process = new ProcessBuilder(command).redirectErrorStream(true).start();
      var lines = new String(process.getInputStream().readAllBytes()).lines().toList();
      process.waitFor();
      return lines;
    } catch (IOException e) {
      return List.of("note not measured: cannot run " + config.python() + ": " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return List.of("note not measured: interrupted");
    }
  }

  /** Prints the peers' rows: the median over repeats of each measurement, and the ratios. */
  private void peers(List<List<String>> runs, long bytes, double saveSeconds, double loadSeconds) {
    var times = new java.util.LinkedHashMap<String, List<Double>>();
    var notes = new java.util.LinkedHashSet<String>();
    for (var lines : runs) {
      for (var line : lines) {
        var f = line.split(" ");
        if (f.length == 5 && f[0].equals("peer")) {
          times
              .computeIfAbsent(f[1] + " " + f[2], k -> new ArrayList<>())
              .add(Double.parseDouble(f[3]));
        } else if (line.startsWith("note ")) {
          notes.add(line.substring(5));
        } else if (!line.isBlank()) {
          notes.add(line);
        }
      }
    }
    var mb = bytes / 1e6;
    for (var e : times.entrySet()) {
      var f = e.getKey().split(" ");
      var seconds = median(e.getValue().stream().mapToDouble(Double::doubleValue).toArray());
      var save = f[1].equals("save");
      row(save ? "peer" : "", f[0] + (save ? " save + fsync" : " load"), mb, seconds);
      ratio(
          "stepwise " + f[1] + " / " + f[0],
          seconds / (save ? saveSeconds : loadSeconds),
          ">= 1.0");
    }
    for (var note : notes) {
      out.println("  NOTE   " + note);
    }
  }

  private Runs stepTimes(
      Path dir,
      Transformer model,
      AdamW optim,
      LrSchedule schedule,
      ReverseTextTask data,
      Device device,
      Boolean async) {
    var d = CkptConfig.defaults();
    var ckpt =
        new CkptConfig(
            d.dir(),
            config.saveEvery(),
            Boolean.TRUE.equals(async),
            2,
            null,
            CkptConfig.Retention.LOCAL,
            0,
            false,
            d.checksum(),
            false,
            d.stopDeadline(),
            d.ioThreads());
    var layout = new RunLayout(dir);
    var times = new double[config.steps()];
    var during = new boolean[config.steps()];
    var saves = new ArrayList<Double>();
    var waits = new ArrayList<Double>();
    // The saves are measured here, not reported: their log lines would break the tables.
    try (var quiet = Console.quiet();
        var saver =
            async == null
                ? null
                : new CheckpointSaver(
                    new CheckpointWriter(layout), new CheckpointStore(layout), ckpt, -1)) {
      for (var s = 0; s < config.steps(); s++) {
        var step = s + 2;
        during[s] = saver != null && saver.writing();
        var t0 = System.nanoTime();
        trainStep(model, optim, data, step, device);
        times[s] = seconds(t0);
        if (saver != null && (s + 1) % config.saveEvery() == 0) {
          t0 = System.nanoTime();
          saver.save(buffers -> snapshot(model, optim, schedule, step, buffers));
          saves.add(seconds(t0));
          waits.add(saver.lastWaitSeconds());
        }
      }
    }
    return new Runs(
        times,
        saves.stream().mapToDouble(Double::doubleValue).toArray(),
        waits.stream().mapToDouble(Double::doubleValue).toArray(),
        during);
  }

  private void stallRow(String label, Runs run, Runs baseline, double copySeconds) {
    var mean = run.stepMean();
    var baseMean = baseline.stepMean();
    out.printf(
        "  %-12s mean step %7.1f ms (training only) | %s%n",
        label,
        mean * 1000,
        run == baseline
            ? String.format("baseline median %.1f ms", median(baseline.steps()) * 1000)
            : String.format(
                "stall per save: median %.1f ms (waiting for the previous write %.1f ms), first"
                    + " %.1f ms (x%.2f of a memory copy) | steps x%.2f",
                median(run.saveSeconds()) * 1000,
                median(run.waitSeconds()) * 1000,
                run.saveSeconds().length == 0 ? 0 : run.saveSeconds()[0] * 1000,
                median(run.saveSeconds()) / copySeconds,
                mean / baseMean));
  }

  private void row(String what, String how, double mb, double seconds) {
    out.printf("  %-6s %-40s %8.1f MB/s  (%.0f ms)%n", what, how, mb / seconds, seconds * 1000);
  }

  private static TrainerCheckpoint.Snapshot snapshot(
      Transformer model, AdamW optim, LrSchedule schedule, long step) {
    return snapshot(model, optim, schedule, step, null);
  }

  private static TrainerCheckpoint.Snapshot snapshot(
      Transformer model, AdamW optim, LrSchedule schedule, long step, HostBuffers buffers) {
    return TrainerCheckpoint.capture(
        model.parameters(),
        optim,
        new Progress(step, 0, 0),
        schedule,
        Map.of(),
        "# bench\n",
        0,
        1,
        buffers);
  }

  /** Median seconds of one copy of {@code bytes} between two mapped buffers. */
  private double memoryCopy(long bytes) {
    var options = new TensorOptions(torch.ScalarType.Byte);
    var src = torch.ones(new long[] {bytes}, options);
    var dst = torch.zeros(new long[] {bytes}, options);
    var times = new double[config.repeats()];
    for (var r = 0; r < times.length; r++) {
      var t0 = System.nanoTime();
      dst.copy_(src);
      times[r] = seconds(t0);
    }
    return median(times);
  }

  /** Median seconds of one copy of {@code bytes} from {@code device} into pinned host memory. */
  private double deviceToHostCopy(long bytes, Device device) {
    var onDevice = new TensorOptions(torch.ScalarType.Byte).device(new DeviceOptional(device));
    var src = torch.ones(new long[] {bytes}, onDevice);
    var dst =
        torch.zeros(new long[] {bytes}, new TensorOptions(torch.ScalarType.Byte)).pin_memory();
    dst.copy_(src); // warm-up: the first copy also sets up the transfer
    var times = new double[config.repeats()];
    for (var r = 0; r < times.length; r++) {
      var t0 = System.nanoTime();
      dst.copy_(src); // blocking: returns when the bytes are on the host
      times[r] = seconds(t0);
    }
    return median(times);
  }

  private static void trainStep(
      Transformer model, AdamW optim, ReverseTextTask data, long step, Device device) {
    try (var scope = new PointerScope()) {
      var batch = data.batch(step, 0, 1, device);
      var loss = LossFunction.maskedNll().loss(model, batch);
      loss.backward();
      optim.step(1e-4);
      optim.zeroGrad();
      if (loss.is_cuda()) {
        loss.item_float(); // waits for the step: a GPU step's time is its device time
      }
    }
  }

  /** The snapshot's tensor bytes, in one file, in 8 MiB writes, then one fsync. */
  private static void plainWrite(Path file, TrainerCheckpoint.Snapshot snapshot)
      throws IOException {
    try (var ch =
        FileChannel.open(
            file,
            StandardOpenOption.CREATE,
            StandardOpenOption.TRUNCATE_EXISTING,
            StandardOpenOption.WRITE)) {
      for (var tensors : List.of(snapshot.model(), snapshot.optimizer())) {
        for (var t : tensors.values()) {
          if (t.nbytes() == 0) {
            continue;
          }
          var all = new BytePointer(t.data_ptr()).capacity(t.nbytes()).asByteBuffer();
          while (all.hasRemaining()) {
            var chunk = all.slice();
            chunk.limit(Math.min(chunk.remaining(), 8 << 20));
            var n = chunk.remaining();
            while (chunk.hasRemaining()) {
              ch.write(chunk);
            }
            all.position(all.position() + n);
          }
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

  private static double checksumOnly(Checksum checksum, long bytes) {
    var digest = checksum.start();
    var chunk = ByteBuffer.allocateDirect(1 << 20);
    var t0 = System.nanoTime();
    for (var left = bytes; left > 0; left -= chunk.capacity()) {
      digest.update(chunk.clear().limit((int) Math.min(chunk.capacity(), left)));
    }
    digest.hex();
    return seconds(t0);
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
