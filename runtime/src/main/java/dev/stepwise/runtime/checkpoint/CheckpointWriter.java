package dev.stepwise.runtime.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.stepwise.api.CheckpointMetrics;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Writes one checkpoint step directory: every file atomically, then {@code manifest.json} (sizes
 * and checksums of every file) last. A crash at any point leaves either the previous state or a
 * directory without a manifest, which readers ignore.
 *
 * <p>Files are written by up to {@code ioThreads} threads at once (each file by one thread, in one
 * pass: large writes straight from the tensors' memory, each slice checksummed while still in the
 * cache, one fsync per file, one per directory). A writer may be told to abort: it then stops
 * before its next file and before the manifest with a {@link CheckpointAbortedException}.
 */
public final class CheckpointWriter {

  static final ObjectMapper JSON =
      new ObjectMapper()
          .enable(SerializationFeature.INDENT_OUTPUT)
          .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS);

  /** One file of a component: its name inside the component directory and how to write it. */
  public record ComponentFile(String name, AtomicFiles.Body body) {}

  /** Called after each file is durably written; tests use it to simulate a crash mid-save. */
  @FunctionalInterface
  public interface FileListener {
    void written(Path file);

    FileListener NONE = file -> {};
  }

  /**
   * Parts of a step written by other processes (the RL orchestrator's): awaited, placed into the
   * directory being completed, and listed in its manifest.
   */
  @FunctionalInterface
  public interface ExternalParts {
    Map<String, Manifest.Component> collect(long step, Path dir) throws IOException;

    ExternalParts NONE = (step, dir) -> Map.of();
  }

  private final RunLayout layout;
  private final FileListener listener;
  private final ExternalParts externalParts;
  private final Checksum checksum;
  private final int ioThreads;
  private final BooleanSupplier aborted;
  private final String reason;
  private final Pacer pacer;
  private final Supplier<CheckpointMetrics> metrics;

  public CheckpointWriter(RunLayout layout) {
    this(layout, FileListener.NONE);
  }

  public CheckpointWriter(RunLayout layout, FileListener listener) {
    this(layout, listener, ExternalParts.NONE);
  }

  public CheckpointWriter(RunLayout layout, FileListener listener, ExternalParts externalParts) {
    this(
        layout,
        listener,
        externalParts,
        Checksum.CRC32C,
        1,
        () -> false,
        null,
        Pacer.unlimited(),
        () -> null);
  }

  private CheckpointWriter(
      RunLayout layout,
      FileListener listener,
      ExternalParts externalParts,
      Checksum checksum,
      int ioThreads,
      BooleanSupplier aborted,
      String reason,
      Pacer pacer,
      Supplier<CheckpointMetrics> metrics) {
    this.layout = layout;
    this.metrics = metrics;
    this.reason = reason;
    this.pacer = pacer;
    this.listener = listener;
    this.externalParts = externalParts;
    this.checksum = checksum;
    this.ioThreads = ioThreads;
    this.aborted = aborted;
  }

  /** This writer recording {@code checksum} for every file it writes. */
  public CheckpointWriter withChecksum(Checksum checksum) {
    return new CheckpointWriter(
        layout, listener, externalParts, checksum, ioThreads, aborted, reason, pacer, metrics);
  }

  /** This writer writing up to {@code threads} files at once. */
  public CheckpointWriter withIoThreads(int threads) {
    return new CheckpointWriter(
        layout,
        listener,
        externalParts,
        checksum,
        Math.max(1, threads),
        aborted,
        reason,
        pacer,
        metrics);
  }

  /** This writer aborting its save (before the next file, before the manifest) once asked to. */
  public CheckpointWriter withAbort(BooleanSupplier aborted) {
    return new CheckpointWriter(
        layout, listener, externalParts, checksum, ioThreads, aborted, reason, pacer, metrics);
  }

  /** This writer recording {@code reason} (say {@link Manifest#REASON_PREEMPTION}) in manifests. */
  public CheckpointWriter withReason(String reason) {
    return new CheckpointWriter(
        layout, listener, externalParts, checksum, ioThreads, aborted, reason, pacer, metrics);
  }

  /** This writer pacing its writes with {@code pacer} (background saves). */
  public CheckpointWriter withPacer(Pacer pacer) {
    return new CheckpointWriter(
        layout, listener, externalParts, checksum, ioThreads, aborted, reason, pacer, metrics);
  }

  /**
   * This writer recording {@code metrics} in manifests, with the seconds from {@code startNanos}
   * ({@link System#nanoTime}) to the manifest as {@code saveSeconds}.
   */
  public CheckpointWriter withMetrics(CheckpointMetrics metrics, long startNanos) {
    Supplier<CheckpointMetrics> stamped =
        () -> {
          var m = new CheckpointMetrics();
          if (metrics != null) {
            m.setSamples(metrics.getSamples());
            m.setTokens(metrics.getTokens());
            m.setLoss(metrics.getLoss());
            m.setEvalLoss(metrics.getEvalLoss());
            m.setEvalAccuracy(metrics.getEvalAccuracy());
            m.setMeanReward(metrics.getMeanReward());
          }
          m.setSaveSeconds(Math.round((System.nanoTime() - startNanos) / 1e6) / 1e3);
          return m;
        };
    return new CheckpointWriter(
        layout, listener, externalParts, checksum, ioThreads, aborted, reason, pacer, stamped);
  }

  public Checksum checksum() {
    return checksum;
  }

  public int ioThreads() {
    return ioThreads;
  }

  /** Writes the given components of {@code step} (timeline 0) and then its manifest. */
  public Manifest write(long step, int worldSize, Map<String, List<ComponentFile>> components)
      throws IOException {
    return write(step, worldSize, 0, components);
  }

  /**
   * Writes the given components of {@code step} and then its manifest, stamped with {@code
   * timeline}. A step that is already a complete checkpoint (say, of an abandoned timeline) is
   * replaced atomically: the new copy is written under a hidden staging directory, the old one is
   * renamed away, the new one renamed into place, and the old one deleted; readers see the old
   * checkpoint or the new one, never a mix.
   */
  public Manifest write(
      long step, int worldSize, long timeline, Map<String, List<ComponentFile>> components)
      throws IOException {
    var stepDir = layout.stepDir(step);
    if (!Files.exists(layout.manifest(step))) {
      return writeInto(stepDir, step, worldSize, timeline, components);
    }
    var staging = layout.stagingDir(step);
    CheckpointStore.deleteTree(staging);
    var manifest = writeInto(staging, step, worldSize, timeline, components);
    swapIn(step, staging);
    return manifest;
  }

  /** Replaces the complete checkpoint of {@code step} with the one staged in {@code staging}. */
  private void swapIn(long step, Path staging) throws IOException {
    var stepDir = layout.stepDir(step);
    var replaced = layout.tombstone(step, RunLayout.Tombstone.REPLACED);
    try {
      Files.move(stepDir, replaced, StandardCopyOption.ATOMIC_MOVE);
    } catch (NoSuchFileException deletedMeanwhile) {
      replaced = null; // `stepwise checkpoint delete` took the old copy away first
    }
    Files.move(staging, stepDir, StandardCopyOption.ATOMIC_MOVE);
    AtomicFiles.fsyncDir(layout.checkpointsDir());
    if (replaced != null) {
      CheckpointStore.deleteTree(replaced);
    }
  }

  /**
   * Where one rank of a multi-rank save of {@code step} writes its files: the step directory, or a
   * staging directory when the step is already a complete checkpoint (then {@link #commit} swaps it
   * in, as {@link #write} does). Every rank decides before rank 0 commits, so all agree.
   */
  public Path rankTarget(long step) {
    return Files.exists(layout.manifest(step)) ? layout.stagingDir(step) : layout.stepDir(step);
  }

  /** One rank's files of a multi-rank save, each written atomically under {@code dir}. */
  public SortedMap<String, Manifest.Component> writeFiles(
      Path dir, Map<String, List<ComponentFile>> components) throws IOException {
    Files.createDirectories(dir);
    var sorted = new TreeMap<>(components);
    var tasks = new ArrayList<Callable<Manifest.FileEntry>>();
    for (var component : sorted.entrySet()) {
      var componentDir = dir.resolve(component.getKey());
      Files.createDirectories(componentDir);
      for (var file : component.getValue()) {
        tasks.add(
            () -> {
              checkNotAborted(dir);
              var target = componentDir.resolve(file.name());
              var written = AtomicFiles.write(target, file.body(), checksum, pacer);
              listener.written(target);
              return written.entry(component.getKey() + "/" + file.name());
            });
      }
    }
    var written = ParallelIo.run(tasks, ioThreads, "checkpoint-io");
    var entries = new TreeMap<String, Manifest.Component>();
    var i = 0;
    for (var component : sorted.entrySet()) {
      AtomicFiles.fsyncDir(dir.resolve(component.getKey()));
      var files = new ArrayList<Manifest.FileEntry>();
      for (var ignored : component.getValue()) {
        files.add(written.get(i++));
      }
      entries.put(component.getKey(), new Manifest.Component(files));
    }
    return entries;
  }

  private void checkNotAborted(Path dir) {
    if (aborted.getAsBoolean()) {
      throw new CheckpointAbortedException(
          "checkpoint save into " + dir + " aborted: it has no manifest and is not a checkpoint");
    }
  }

  /**
   * Completes a multi-rank save (rank 0, once every rank's {@link #writeFiles} into {@code dir} =
   * {@link #rankTarget} is done): writes the manifest listing all ranks' files, then swaps a staged
   * replacement into place.
   */
  public Manifest commit(
      long step, int worldSize, long timeline, Path dir, Map<String, Manifest.Component> entries)
      throws IOException {
    var manifest = writeManifest(dir, step, worldSize, timeline, entries);
    if (!dir.equals(layout.stepDir(step))) {
      swapIn(step, dir);
    }
    return manifest;
  }

  private Manifest writeInto(
      Path stepDir,
      long step,
      int worldSize,
      long timeline,
      Map<String, List<ComponentFile>> components)
      throws IOException {
    var entries = writeFiles(stepDir, components);
    return writeManifest(stepDir, step, worldSize, timeline, entries);
  }

  private Manifest writeManifest(
      Path stepDir,
      long step,
      int worldSize,
      long timeline,
      Map<String, Manifest.Component> entries)
      throws IOException {
    entries = new TreeMap<>(entries);
    entries.putAll(externalParts.collect(step, stepDir));
    AtomicFiles.fsyncDir(stepDir);
    checkNotAborted(stepDir);
    var manifest =
        new Manifest(
            Manifest.FORMAT,
            Manifest.FORMAT_VERSION,
            step,
            worldSize,
            Instant.now().truncatedTo(ChronoUnit.MILLIS).toString(),
            new LinkedHashMap<>(entries),
            timeline,
            reason,
            metrics.get());
    var manifestFile = stepDir.resolve(RunLayout.MANIFEST);
    AtomicFiles.write(manifestFile, JSON.writeValueAsBytes(manifest));
    AtomicFiles.fsyncDir(stepDir.getParent());
    listener.written(manifestFile);
    return manifest;
  }

  /** Checks every file of a manifest against its recorded size; contents are hashed on load. */
  public static void checkSizes(Path stepDir, Manifest manifest) {
    for (var component : manifest.components().values()) {
      for (var file : component.files()) {
        var path = stepDir.resolve(file.path());
        long size;
        try {
          size = Files.size(path);
        } catch (IOException e) {
          throw new CheckpointException(path + " is missing (listed in the manifest)");
        }
        if (size != file.size()) {
          throw new CheckpointException(
              path + " has " + size + " bytes, the manifest says " + file.size() + ": corrupt");
        }
      }
    }
  }
}
