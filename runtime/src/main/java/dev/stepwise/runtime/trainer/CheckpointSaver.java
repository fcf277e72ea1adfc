package dev.stepwise.runtime.trainer;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stepwise.api.CheckpointMetrics;
import dev.stepwise.runtime.checkpoint.CheckpointException;
import dev.stepwise.runtime.checkpoint.CheckpointStore;
import dev.stepwise.runtime.checkpoint.CheckpointWriter;
import dev.stepwise.runtime.checkpoint.Checksum;
import dev.stepwise.runtime.checkpoint.LocalRetention;
import dev.stepwise.runtime.checkpoint.Manifest;
import dev.stepwise.runtime.checkpoint.Pacer;
import dev.stepwise.runtime.checkpoint.RunLayout;
import dev.stepwise.runtime.config.CkptConfig;
import dev.stepwise.runtime.parallel.ProcessGroup;
import dev.stepwise.runtime.util.StopSignal;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes trainer snapshots, inline or on a background thread ({@code ckpt.save-async}), and applies
 * the retention rules ({@code ckpt.keep}, {@code keep-every}, {@code keep-best}, {@code max-bytes}:
 * {@link LocalRetention}) after each complete save. At most one background save is in flight: a new
 * save first waits for the previous one, and {@link #close()} waits for the last.
 *
 * <p>Snapshots are taken into {@link HostBuffers} reused from save to save, so an async save stalls
 * training for one copy of the state into mapped memory. The background writer uses one I/O thread
 * (on a small machine a second would take the training thread's core); a save that blocks anyway
 * (sync, or the {@link #savePreemption preemption save}) uses {@code ckpt.io-threads}. A stop
 * signal's abort stops the save in progress before its manifest.
 */
public final class CheckpointSaver implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(CheckpointSaver.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final TypeReference<TreeMap<String, Manifest.Component>> COMPONENTS =
      new TypeReference<>() {};

  private final CheckpointStore store;
  private final CkptConfig config;
  private final long protectedStep;
  private final Consumer<Manifest> completed;
  private final ExecutorService background;
  private final ProcessGroup group;
  private final CheckpointWriter foreground;
  private final CheckpointWriter backgroundWriter;
  private final HostBuffers buffers = new HostBuffers();
  private final StopSignal stop;
  private Future<?> pending;
  private long lastSaved = -1;
  private long lastSaveNanos = -1;
  private volatile boolean hurry;
  private long lastWaitNanos;
  private Observer observer = Observer.NONE;

  /**
   * What a saver tells about its saves and asks of whoever keeps the run's metrics (the trainer's
   * {@code TrainerMetrics}).
   */
  public interface Observer {
    Observer NONE =
        new Observer() {
          @Override
          public CheckpointMetrics metricsAt(long step) {
            return null;
          }

          @Override
          public void stalled(long step, double seconds) {}

          @Override
          public void saved(Manifest manifest) {}
        };

    /** The metrics to record in the manifest of {@code step} (asked on the training thread). */
    CheckpointMetrics metricsAt(long step);

    /** The training loop was blocked {@code seconds} by the save of {@code step}. */
    void stalled(long step, double seconds);

    /** A checkpoint is complete (told on the thread that wrote its manifest). */
    void saved(Manifest manifest);
  }

  /**
   * The share of the time between two saves that a background write is spread over: it then
   * finishes well before the next save, and takes a small part of a core meanwhile.
   */
  static final double SPREAD = 0.5;

  public CheckpointSaver(
      CheckpointWriter writer, CheckpointStore store, CkptConfig config, long protectedStep) {
    this(
        writer,
        store,
        config,
        protectedStep,
        manifest -> {},
        ProcessGroup.single(),
        StopSignal.none());
  }

  /**
   * {@code completed} is told of each checkpoint once it is complete (the Checkpoint reporter).
   * With several ranks in {@code group}, each writes its own shard files, and rank 0 writes the
   * manifest once every rank has reported its files (through the group's store), then tells {@code
   * completed} and applies retention. A save in progress is aborted when {@code stop} is aborted.
   */
  public CheckpointSaver(
      CheckpointWriter writer,
      CheckpointStore store,
      CkptConfig config,
      long protectedStep,
      Consumer<Manifest> completed,
      ProcessGroup group,
      StopSignal stop) {
    var checksum = config.checksum() == null ? Checksum.CRC32C : config.checksum();
    var configured = writer.withChecksum(checksum).withAbort(stop::aborted);
    this.foreground = configured.withIoThreads(config.effectiveIoThreads());
    this.backgroundWriter = configured.withIoThreads(1);
    this.stop = stop;
    this.group = group;
    this.completed = completed;

    this.store = store;
    this.config = config;
    this.protectedStep = protectedStep;
    this.background =
        config.saveAsync()
            ? Executors.newSingleThreadExecutor(
                r -> {
                  var t = new Thread(r, "checkpoint-writer");
                  t.setDaemon(true);
                  return t;
                })
            : null;
  }

  /** This saver, telling {@code observer} of its saves and recording its metrics in manifests. */
  public CheckpointSaver observedBy(Observer observer) {
    this.observer = observer;
    return this;
  }

  /** Saves a snapshot that is already detached from the live state (its own host copies). */
  public void save(TrainerCheckpoint.Snapshot snapshot) {
    save(buffers -> snapshot);
  }

  /**
   * Saves the snapshot {@code capture} takes (on this thread) into this saver's reused host
   * buffers, once the previous save no longer reads them; writes it here or in the background.
   */
  public void save(Function<HostBuffers, TrainerCheckpoint.Snapshot> capture) {
    var waitStart = System.nanoTime();
    hurry = true; // a write still paced when the next save is due finishes at full speed
    awaitPending();
    hurry = false;
    var now = System.nanoTime();
    lastWaitNanos = now - waitStart;
    var gapSeconds = lastSaveNanos < 0 ? 0 : (now - lastSaveNanos) / 1e9;
    lastSaveNanos = now;
    var snapshot = capture.apply(buffers);
    lastSaved = snapshot.step();
    var metrics = observer.metricsAt(snapshot.step());
    if (background == null) {
      write(snapshot, foreground.withMetrics(metrics, now), "");
    } else {
      // Paced from the second save on, by the time the last interval took.
      var pacer =
          gapSeconds > 0
              ? Pacer.of(
                  snapshot.tensorBytes() / (SPREAD * gapSeconds), () -> hurry || stop.requested())
              : Pacer.unlimited();
      var writer = backgroundWriter.withPacer(pacer).withMetrics(metrics, now);
      pending = background.submit(() -> write(snapshot, writer, " (background)"));
    }
    observer.stalled(snapshot.step(), (System.nanoTime() - waitStart) / 1e9);
  }

  /**
   * The save a stop signal asks for: waits for a background save in flight, then, unless it already
   * covers the same step, writes the snapshot {@code capture} takes now, on this thread with every
   * I/O thread, its manifest recording {@link Manifest#REASON_PREEMPTION}. Returns the step saved.
   */
  public long savePreemption(Function<HostBuffers, TrainerCheckpoint.Snapshot> capture) {
    hurry = true;
    awaitPending();
    var start = System.nanoTime();
    var snapshot = capture.apply(buffers);
    if (snapshot.step() != lastSaved) {
      lastSaved = snapshot.step();
      var writer =
          foreground
              .withReason(Manifest.REASON_PREEMPTION)
              .withMetrics(observer.metricsAt(snapshot.step()), start);
      write(snapshot, writer, " (preemption save)");
    }
    return snapshot.step();
  }

  /** How long the last {@link #save} waited for the previous background write (seconds). */
  public double lastWaitSeconds() {
    return lastWaitNanos / 1e9;
  }

  /** Whether a background save is still being written. */
  public boolean writing() {
    return pending != null && !pending.isDone();
  }

  /** The step of the last save started, or -1. */
  public long lastSaved() {
    return lastSaved;
  }

  private void write(TrainerCheckpoint.Snapshot snapshot, CheckpointWriter writer, String how) {
    var started = System.nanoTime();
    try {
      var manifest =
          group.distributed()
              ? writeShards(snapshot, writer)
              : writer.write(
                  snapshot.step(),
                  snapshot.worldSize(),
                  config.timeline(),
                  Map.of(RunLayout.TRAINER, snapshot.files()));
      if (manifest == null) {
        return; // not rank 0: the step completes when rank 0 writes the manifest
      }
      var millis = (System.nanoTime() - started) / 1e6;
      LOG.atInfo()
          .addKeyValue("step", snapshot.step())
          .addKeyValue("bytes", manifest.totalBytes())
          .log(
              String.format(
                  "checkpoint %s written: %.2f MB in %.0f ms%s",
                  store.layout().stepDir(snapshot.step()),
                  manifest.totalBytes() / 1e6,
                  millis,
                  how));
      completed.accept(manifest);
      observer.saved(manifest);
    } catch (IOException e) {
      throw new CheckpointException(
          "cannot write checkpoint " + store.layout().stepDir(snapshot.step()) + ": " + e, e);
    }
    var rules = config.retentionRules();
    if (!rules.keepsAll()
        && config.retention() == CkptConfig.Retention.LOCAL
        && group.rank() == 0) {
      var keepSafe = new HashSet<Long>(List.of(snapshot.step()));
      if (protectedStep >= 0) {
        keepSafe.add(protectedStep);
      }
      new LocalRetention(store, rules).apply(keepSafe);
    }
  }

  /**
   * Writes this rank's files, reports them to rank 0 and, on rank 0, waits for every rank's report
   * (bounded by the group timeout) and writes the manifest; returns it on rank 0, null elsewhere.
   */
  private Manifest writeShards(TrainerCheckpoint.Snapshot snapshot, CheckpointWriter writer)
      throws IOException {
    var step = snapshot.step();
    var dir = writer.rankTarget(step);
    var mine = writer.writeFiles(dir, Map.of(RunLayout.TRAINER, snapshot.files()));
    var key = "checkpoint/" + RunLayout.stepDirName(step);
    var report = JSON.writeValueAsBytes(mine);
    group.publish(key, report);
    if (group.rank() != 0) {
      return null;
    }
    var files = new TreeMap<String, List<Manifest.FileEntry>>();
    for (var bytes : group.gather(key, report)) {
      Map<String, Manifest.Component> part = JSON.readValue(bytes, COMPONENTS);
      part.forEach(
          (component, entries) ->
              files.computeIfAbsent(component, c -> new ArrayList<>()).addAll(entries.files()));
    }
    var components = new TreeMap<String, Manifest.Component>();
    files.forEach(
        (component, entries) -> {
          entries.sort(Comparator.comparing(Manifest.FileEntry::path));
          components.put(component, new Manifest.Component(entries));
        });
    return writer.commit(step, snapshot.worldSize(), config.timeline(), dir, components);
  }

  /** Waits for the background save in flight, rethrowing its failure. */
  public void awaitPending() {
    if (pending == null) {
      return;
    }
    try {
      pending.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CheckpointException("interrupted while waiting for a checkpoint save", e);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RuntimeException r) {
        throw r;
      }
      throw new CheckpointException("checkpoint save failed: " + e.getCause(), e.getCause());
    } finally {
      pending = null;
    }
  }

  @Override
  public void close() {
    hurry = true; // the run is over: finish the last save at full speed
    try {
      awaitPending();
    } finally {
      if (background != null) {
        background.shutdown();
      }
    }
  }
}
