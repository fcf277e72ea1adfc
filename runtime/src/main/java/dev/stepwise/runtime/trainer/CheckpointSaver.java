package dev.stepwise.runtime.trainer;

import dev.stepwise.runtime.checkpoint.CheckpointException;
import dev.stepwise.runtime.checkpoint.CheckpointStore;
import dev.stepwise.runtime.checkpoint.CheckpointWriter;
import dev.stepwise.runtime.checkpoint.RunLayout;
import dev.stepwise.runtime.config.CkptConfig;
import java.io.IOException;
import java.io.PrintStream;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Writes trainer snapshots, inline or on a background thread ({@code ckpt.save-async}), and applies
 * {@code ckpt.keep} after each complete save. At most one background save is in flight: a new save
 * first waits for the previous one, and {@link #close()} waits for the last.
 */
public final class CheckpointSaver implements AutoCloseable {

  private final CheckpointWriter writer;
  private final CheckpointStore store;
  private final CkptConfig config;
  private final long protectedStep;
  private final PrintStream log;
  private final ExecutorService background;
  private Future<?> pending;

  public CheckpointSaver(
      CheckpointWriter writer,
      CheckpointStore store,
      CkptConfig config,
      long protectedStep,
      PrintStream log) {
    this.writer = writer;
    this.store = store;
    this.config = config;
    this.protectedStep = protectedStep;
    this.log = log;
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

  /** Whether {@code step} is due a checkpoint under {@code interval} (the final step always is). */
  public static boolean due(CkptConfig config, long step, long maxSteps) {
    return step == maxSteps || (config.interval() != null && step % config.interval() == 0);
  }

  public void save(TrainerCheckpoint.Snapshot snapshot) {
    awaitPending();
    if (background == null) {
      write(snapshot);
    } else {
      pending = background.submit(() -> write(snapshot));
    }
  }

  private void write(TrainerCheckpoint.Snapshot snapshot) {
    var started = System.nanoTime();
    try {
      var manifest =
          writer.write(
              snapshot.step(), snapshot.worldSize(), Map.of(RunLayout.TRAINER, snapshot.files()));
      var millis = (System.nanoTime() - started) / 1e6;
      log.printf(
          "checkpoint %s written: %.2f MB in %.0f ms%s%n",
          store.layout().stepDir(snapshot.step()),
          manifest.totalBytes() / 1e6,
          millis,
          background == null ? "" : " (background)");
    } catch (IOException e) {
      throw new CheckpointException(
          "cannot write checkpoint " + store.layout().stepDir(snapshot.step()) + ": " + e, e);
    }
    if (config.keep() != null && config.retention() == CkptConfig.Retention.LOCAL) {
      var keepSafe = new HashSet<Long>(List.of(snapshot.step()));
      if (protectedStep >= 0) {
        keepSafe.add(protectedStep);
      }
      var deleted = store.applyRetention(config.keep(), keepSafe);
      if (!deleted.isEmpty()) {
        log.println("checkpoint retention (keep " + config.keep() + "): deleted steps " + deleted);
      }
    }
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
    try {
      awaitPending();
    } finally {
      if (background != null) {
        background.shutdown();
      }
    }
  }
}
