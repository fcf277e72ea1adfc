package dev.stepwise.runtime.k8s;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.stepwise.api.RunProgress;
import dev.stepwise.api.TrainingRun;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.http.HttpResponse;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes the live progress of a run into {@code status.progress} of its TrainingRun: one JSON merge
 * patch of the status subresource, {@code {"status":{"progress":{...}}}}, and nothing else of the
 * object. Rank 0 of the trainer {@link #offer offers} its progress after each step, which returns
 * at once; one daemon thread writes the latest offer (never a queue of stale ones) at most once per
 * {@code interval}, only when it differs from the last one written (the time stamp and the disk
 * figures, filled in at write time, do not count as a change), and once more, bounded, on {@link
 * #close}. A failed write is logged and retried with the then latest progress an interval later: an
 * API server that is slow or down never slows or stops training.
 */
public final class ProgressReporter implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(ProgressReporter.class);

  private static final String MERGE_PATCH = "application/merge-patch+json";

  /** Longest a write may take before it counts as failed. */
  private static final long REQUEST_SECONDS = 10;

  /** Attempts of the final write (the periodic ones try once per interval). */
  private static final int FINAL_ATTEMPTS = 3;

  /** How long {@link #close} waits for the final write. */
  private static final long DRAIN_SECONDS = 15;

  /** Serialises every field, absent ones as null: a merge patch then removes stale fields. */
  private static final ObjectMapper PATCH_JSON =
      JsonMapper.builder().disable(MapperFeature.USE_ANNOTATIONS).build();

  private final KubernetesClient client;
  private final RunIdentity identity;
  private final long intervalNanos;
  private final Path volume;
  private final Runnable onWrite;
  private final boolean ownsClient;
  private final AtomicLong writes = new AtomicLong();
  private final long startNanos = System.nanoTime();
  private final Thread worker;

  private final Object lock = new Object();
  private RunProgress offered;
  private RunProgress written;
  private long lastAttemptNanos;
  private boolean attempted;
  private boolean closing;
  private boolean failing;
  private boolean idle;

  /**
   * A reporter for {@code identity}'s TrainingRun through {@code client} (left open on {@link
   * #close}), writing at most every {@code interval}; {@code volume} is a path on the run volume
   * (for its disk usage); {@code onWrite} runs after each successful write (the writes counter).
   */
  public ProgressReporter(
      KubernetesClient client,
      RunIdentity identity,
      Duration interval,
      Path volume,
      Runnable onWrite) {
    this(client, false, identity, interval, volume, onWrite);
  }

  private ProgressReporter(
      KubernetesClient client,
      boolean ownsClient,
      RunIdentity identity,
      Duration interval,
      Path volume,
      Runnable onWrite) {
    if (interval.isNegative() || interval.isZero()) {
      throw new IllegalArgumentException("progress.interval must be > 0, got " + interval);
    }
    this.client = client;
    this.ownsClient = ownsClient;
    this.identity = identity;
    this.intervalNanos = interval.toNanos();
    this.volume = volume;
    this.onWrite = onWrite;
    this.worker = new Thread(this::run, "progress-reporter");
    worker.setDaemon(true);
    worker.start();
  }

  /**
   * A reporter when this process runs as rank 0 of a pod of the operator and {@code
   * intervalSeconds} is above 0; otherwise none.
   */
  public static Optional<ProgressReporter> fromEnvironment(
      Map<String, String> env, double intervalSeconds, Path volume, Runnable onWrite) {
    if (intervalSeconds <= 0) {
      return Optional.empty();
    }
    return RunIdentity.fromEnvironment(env)
        .map(
            id -> {
              LOG.info(
                  String.format(
                      "writing live progress into status.progress of TrainingRun %s/%s at most"
                          + " every %s s",
                      id.namespace(), id.run(), seconds(intervalSeconds)));
              return new ProgressReporter(
                  CheckpointReporter.inClusterClient(),
                  true,
                  id,
                  Duration.ofNanos((long) (intervalSeconds * 1e9)),
                  volume,
                  onWrite);
            });
  }

  /** Makes {@code progress} the one to write next (replacing an unwritten older one). */
  public void offer(RunProgress progress) {
    synchronized (lock) {
      offered = progress;
      if (idle) {
        lock.notifyAll(); // else the writer wakes at its next due time and takes the latest
      }
    }
  }

  /** Successful writes so far. */
  public long writes() {
    return writes.get();
  }

  private void run() {
    while (true) {
      RunProgress next;
      synchronized (lock) {
        try {
          next = awaitDue();
        } catch (InterruptedException e) {
          return;
        }
      }
      if (next == null) {
        finalWrite();
        return;
      }
      write(next);
    }
  }

  /** The progress to write now, or null once closing; called holding the lock. */
  private RunProgress awaitDue() throws InterruptedException {
    while (!closing) {
      if (offered != null && !offered.equals(written)) {
        var now = System.nanoTime();
        var wait = attempted ? lastAttemptNanos + intervalNanos - now : 0;
        if (wait <= 0) {
          lastAttemptNanos = now;
          attempted = true;
          return offered;
        }
        TimeUnit.NANOSECONDS.timedWait(lock, wait);
      } else {
        idle = true;
        try {
          lock.wait();
        } finally {
          idle = false;
        }
      }
    }
    return null;
  }

  private void finalWrite() {
    for (var attempt = 1; attempt <= FINAL_ATTEMPTS; attempt++) {
      RunProgress last;
      synchronized (lock) {
        last = offered;
      }
      if (last == null || last.equals(written) || write(last)) {
        return;
      }
      try {
        Thread.sleep(200L << attempt);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  /** One merge patch of status.progress; false when it failed (logged once per failure streak). */
  private boolean write(RunProgress progress) {
    var body = patchBody(withVolume(progress));
    try {
      patch(body);
    } catch (IOException | RuntimeException e) {
      if (!failing) {
        failing = true;
        LOG.warn(
            String.format(
                "could not write status.progress of TrainingRun %s/%s (retried with the latest"
                    + " progress at the next interval): %s",
                identity.namespace(), identity.run(), e.getMessage()));
      }
      return false;
    }
    if (failing) {
      failing = false;
      LOG.info(
          String.format(
              "status.progress of TrainingRun %s/%s written again",
              identity.namespace(), identity.run()));
    }
    synchronized (lock) {
      written = progress;
    }
    var count = writes.incrementAndGet();
    LOG.atDebug()
        .addKeyValue("step", progress.getStep())
        .addKeyValue("writes", count)
        .log("wrote status.progress at step {} (write {})", progress.getStep(), count);
    onWrite.run();
    return true;
  }

  /**
   * One PATCH of the status subresource, and no other request: the pod may patch its run's status
   * and nothing else (the client's own patch would read the object first).
   */
  private void patch(String body) throws IOException {
    var url =
        String.join(
            "/",
            client.getMasterUrl().toString().replaceAll("/+$", ""),
            "apis",
            HasMetadata.getGroup(TrainingRun.class),
            HasMetadata.getVersion(TrainingRun.class),
            "namespaces",
            identity.namespace(),
            HasMetadata.getPlural(TrainingRun.class),
            identity.run(),
            "status");
    var http = client.getHttpClient();
    var request =
        http.newHttpRequestBuilder()
            .uri(url)
            .patch(MERGE_PATCH, body)
            .timeout(REQUEST_SECONDS, TimeUnit.SECONDS)
            .build();
    HttpResponse<String> response;
    try {
      response = http.sendAsync(request, String.class).get(REQUEST_SECONDS + 5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    } catch (ExecutionException | TimeoutException e) {
      throw new IOException("PATCH " + url + ": " + (e.getCause() == null ? e : e.getCause()), e);
    }
    if (!response.isSuccessful()) {
      var detail = response.body() == null ? "" : response.body().strip();
      throw new IOException(
          "PATCH "
              + url
              + ": HTTP "
              + response.code()
              + (detail.length() > 300 ? ": " + detail.substring(0, 300) + "..." : ": " + detail));
    }
  }

  /** A copy of {@code progress} with the disk usage of the run volume and the time of writing. */
  private RunProgress withVolume(RunProgress progress) {
    var copy = PATCH_JSON.convertValue(progress, RunProgress.class);
    try {
      var store = Files.getFileStore(volume);
      copy.setDiskCapacityBytes(store.getTotalSpace());
      copy.setDiskUsedBytes(store.getTotalSpace() - store.getUsableSpace());
    } catch (IOException e) {
      // The volume is not there (yet): progress without disk figures.
    }
    copy.setUpdatedAt(Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
    return copy;
  }

  /** {@code {"status":{"progress":{...}}}} with every field of {@code progress}, nulls included. */
  static String patchBody(RunProgress progress) {
    try {
      return PATCH_JSON.writeValueAsString(Map.of("status", Map.of("progress", progress)));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Writes the latest progress if it was not written yet (bounded), then stops; logs how many
   * writes live progress cost.
   */
  @Override
  public void close() {
    synchronized (lock) {
      closing = true;
      lock.notifyAll();
    }
    try {
      worker.join(TimeUnit.SECONDS.toMillis(DRAIN_SECONDS));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (worker.isAlive()) {
      LOG.warn(
          String.format(
              "the last status.progress write did not finish within %d s", DRAIN_SECONDS));
      worker.interrupt();
    }
    var minutes = (System.nanoTime() - startNanos) / 60e9;
    LOG.atInfo()
        .addKeyValue("progressWrites", writes.get())
        .log(
            String.format(
                "live progress: %d status writes in %.1f min (%.2f per minute, interval %s s)",
                writes.get(),
                minutes,
                minutes > 0 ? writes.get() / minutes : 0.0,
                seconds(intervalNanos / 1e9)));
    if (ownsClient) {
      client.close();
    }
  }

  private static String seconds(double s) {
    return s == Math.rint(s) ? Long.toString((long) s) : Double.toString(s);
  }
}
