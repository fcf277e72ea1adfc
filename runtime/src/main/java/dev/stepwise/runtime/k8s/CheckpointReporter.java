package dev.stepwise.runtime.k8s;

import dev.stepwise.api.Checkpoint;
import dev.stepwise.api.CheckpointPhase;
import dev.stepwise.api.CheckpointSpec;
import dev.stepwise.api.CheckpointStatus;
import dev.stepwise.api.Constants;
import dev.stepwise.api.ControllerReference;
import dev.stepwise.api.TrainingRun;
import dev.stepwise.runtime.checkpoint.CheckpointStore;
import dev.stepwise.runtime.checkpoint.Manifest;
import dev.stepwise.runtime.checkpoint.RunLayout;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.net.HttpURLConnection;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells the API server that a checkpoint is complete: creates (or updates) the {@code Checkpoint}
 * {@code <run>-step-<n>}, owned by the run, and sets its status to Ready with size, components,
 * completion time, timeline and the metrics of its manifest. The pod's ServiceAccount may do
 * exactly this and nothing else (the operator's per-run Role). A failure to report is logged, never
 * fatal: training goes on, and the checkpoint is on the volume either way.
 */
public final class CheckpointReporter implements Consumer<Manifest>, AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(CheckpointReporter.class);

  private static final int ATTEMPTS = 5;
  private static final long GONE_SECONDS = 60;

  /** How long {@link #close()} waits for reports still queued (the next start resyncs the rest). */
  private static final long DRAIN_SECONDS = 30;

  private final KubernetesClient client;
  private final RunIdentity identity;
  private final RunLayout layout;

  /** Whether a report or a resync was given up on: the next report that goes through resyncs. */
  private boolean lost;

  /**
   * Reports run here, one at a time, never on the trainer's thread: an API server that is down or
   * slow must not stall training (each report retries with back-off, then is left to a resync).
   */
  private final ExecutorService worker =
      Executors.newSingleThreadExecutor(
          r -> {
            var thread = new Thread(r, "checkpoint-reporter");
            thread.setDaemon(true);
            return thread;
          });

  public CheckpointReporter(KubernetesClient client, RunIdentity identity, RunLayout layout) {
    this.client = client;
    this.identity = identity;
    this.layout = layout;
  }

  /**
   * A reporter when this process runs as rank 0 of a pod of the operator; otherwise none. Its first
   * task, in the background, brings the Checkpoint resources up to date with the volume ({@link
   * #resync}).
   */
  public static Optional<CheckpointReporter> fromEnvironment(RunLayout layout) {
    return RunIdentity.fromEnvironment(System.getenv())
        .map(
            id -> {
              LOG.info(
                  String.format(
                      "reporting checkpoints as Checkpoint resources of TrainingRun %s/%s",
                      id.namespace(), id.run()));
              var reporter = new CheckpointReporter(inClusterClient(), id, layout);
              reporter.worker.submit(() -> reporter.resyncWithRetries(new CheckpointStore(layout)));
              return reporter;
            });
  }

  /**
   * {@link #resync} at a pod's start, again with back-off while the API server refuses or fails it
   * (the pod may start before the RoleBinding that lets it report exists, or while the API server
   * is down); after {@link #ATTEMPTS} tries it is left to the next report that goes through.
   */
  void resyncWithRetries(CheckpointStore store) {
    for (var attempt = 1; ; attempt++) {
      lost = false;
      resync(store);
      if (!lost || attempt == ATTEMPTS) {
        return;
      }
      LOG.info(
          String.format("resync of the volume's checkpoints: try %d failed, retrying", attempt));
      sleep(200L << attempt);
    }
  }

  /**
   * Reports every complete checkpoint on the volume that has no Ready Checkpoint resource of the
   * same timeline: one whose report was lost (a crash between writing its manifest and reporting
   * it, the API server unreachable) or one already on an existing claim when the run was created. A
   * checkpoint whose resource is being deleted is skipped: its data is about to go. Resources
   * without data are left to the operator. Failures are logged, never fatal.
   *
   * @return the steps reported
   */
  public List<Long> resync(CheckpointStore store) {
    Map<Long, Checkpoint> known;
    try {
      known =
          client
              .resources(Checkpoint.class)
              .inNamespace(identity.namespace())
              .withLabel(Constants.LABEL_TRAINING_RUN, identity.run())
              .list()
              .getItems()
              .stream()
              .filter(
                  c -> c.getSpec() != null && identity.run().equals(c.getSpec().getTrainingRun()))
              .filter(c -> c.getSpec().getStep() != null)
              .collect(Collectors.toMap(c -> c.getSpec().getStep(), c -> c, (a, b) -> a));
    } catch (KubernetesClientException e) {
      lost = true;
      LOG.warn(
          String.format(
              "warning: could not list the Checkpoints of TrainingRun %s/%s to resync them with %s: %s",
              identity.namespace(),
              identity.run(),
              store.layout().checkpointsDir(),
              e.getMessage()));
      return List.of();
    }
    var reported = new ArrayList<Long>();
    for (var step : store.completeSteps()) {
      var manifest = store.manifestIfComplete(step).orElse(null);
      if (manifest == null) {
        continue;
      }
      var existing = known.get(step);
      if (existing != null && existing.getMetadata().getDeletionTimestamp() != null) {
        LOG.info(
            String.format(
                "checkpoint step %d: Checkpoint %s is being deleted, not reported again",
                step, existing.getMetadata().getName()));
        continue;
      }
      if (existing != null && isReadyAt(existing, manifest.timeline())) {
        continue;
      }
      try {
        report(manifest);
        reported.add(step);
        LOG.info(
            String.format(
                "checkpoint step %d on the volume had no Ready resource of its timeline: reported"
                    + " as %s",
                step, identity.checkpointName(step)));
      } catch (KubernetesClientException e) {
        lost = true;
        LOG.warn(
            String.format(
                "warning: could not report checkpoint step %d found on the volume: %s",
                step, e.getMessage()));
      }
    }
    return reported;
  }

  private static boolean isReadyAt(Checkpoint checkpoint, long timeline) {
    var status = checkpoint.getStatus();
    return status != null
        && status.getPhase() == CheckpointPhase.Ready
        && Objects.equals(status.getTimeline(), timeline);
  }

  /** The pod's client, failing fast while the API server is unreachable (the worker retries). */
  static KubernetesClient inClusterClient() {
    var config = Config.autoConfigure(null);
    config.setRequestRetryBackoffLimit(1);
    config.setConnectionTimeout(5_000);
    config.setRequestTimeout(10_000);
    return new KubernetesClientBuilder().withConfig(config).build();
  }

  /** Queues the report of a complete checkpoint; returns at once. */
  @Override
  public void accept(Manifest manifest) {
    worker.submit(() -> reportWithRetries(manifest));
  }

  private void reportWithRetries(Manifest manifest) {
    var name = identity.checkpointName(manifest.step());
    for (var attempt = 1; ; attempt++) {
      try {
        report(manifest);
        LOG.atInfo()
            .addKeyValue("step", manifest.step())
            .log(String.format("checkpoint step %d reported as %s", manifest.step(), name));
        if (lost) {
          // The API server was unreachable for a while and is back: report what was missed
          // meanwhile, so that no checkpoint waits for the next restart to be seen.
          lost = false;
          resync(new CheckpointStore(layout));
        }
        return;
      } catch (KubernetesClientException e) {
        if (attempt == ATTEMPTS) {
          lost = true;
          LOG.warn(
              String.format(
                  "warning: could not report checkpoint step %d as Checkpoint %s/%s after %d"
                      + " attempts: %s",
                  manifest.step(), identity.namespace(), name, attempt, e.getMessage()));
          return;
        }
        sleep(200L << attempt);
      }
    }
  }

  /** Create-or-update of the resource, then its status. */
  void report(Manifest manifest) {
    var checkpoints = client.resources(Checkpoint.class).inNamespace(identity.namespace());
    var name = identity.checkpointName(manifest.step());
    try {
      checkpoints.resource(resource(manifest)).create();
    } catch (KubernetesClientException e) {
      if (e.getCode() != HttpURLConnection.HTTP_CONFLICT) {
        throw e;
      }
      var current = checkpoints.withName(name).get();
      if (current != null && current.getMetadata().getDeletionTimestamp() != null) {
        // The old timeline's Checkpoint of this step is being deleted (its data too, guarded by
        // its timeline): wait for it to go, then describe the new checkpoint with a new one.
        checkpoints
            .withName(name)
            .waitUntilCondition(c -> c == null, GONE_SECONDS, TimeUnit.SECONDS);
        checkpoints.resource(resource(manifest)).create();
        checkpoints.withName(name).editStatus(c -> withStatus(c, manifest));
        return;
      }
      if (current == null) {
        throw e; // deleted between the create and the read: the retry creates it
      }
      // A checkpoint of an abandoned timeline at the same step: same resource, new data. Both
      // writes are conditional on the version just read: had the operator's retention deleted it
      // meanwhile (deciding on the old timeline's data), the new status must not go on an object
      // whose cleanup would then take the new data. A conflict is retried, and the retry sees the
      // deletion and waits for it.
      var labels = current.getMetadata().getLabels();
      if (labels == null
          || !CheckpointPhase.Ready.name().equals(labels.get(Constants.LABEL_PHASE))) {
        current =
            checkpoints
                .withName(name)
                .patch(
                    PatchContext.of(PatchType.JSON_MERGE),
                    "{\"metadata\":{\"resourceVersion\":\"%s\",\"labels\":{\"%s\":\"%s\"}}}"
                        .formatted(
                            current.getMetadata().getResourceVersion(),
                            Constants.LABEL_PHASE,
                            CheckpointPhase.Ready.name()));
      }
      checkpoints.resource(withStatus(current, manifest)).updateStatus();
      return;
    }
    checkpoints.withName(name).editStatus(c -> withStatus(c, manifest));
  }

  private Checkpoint withStatus(Checkpoint c, Manifest manifest) {
    c.setStatus(status(manifest));
    return c;
  }

  Checkpoint resource(Manifest manifest) {
    var meta =
        new ObjectMetaBuilder()
            .withName(identity.checkpointName(manifest.step()))
            .withNamespace(identity.namespace())
            .addToLabels(Constants.LABEL_TRAINING_RUN, identity.run())
            .addToLabels(Constants.LABEL_PHASE, CheckpointPhase.Ready.name())
            .addToFinalizers(Constants.CHECKPOINT_FINALIZER);
    if (manifest.reason() != null) {
      meta.addToAnnotations(Constants.ANNOTATION_CHECKPOINT_REASON, manifest.reason());
    }
    if (identity.uid() != null && !identity.uid().isBlank()) {
      var run = new TrainingRun();
      run.setMetadata(
          new ObjectMetaBuilder().withName(identity.run()).withUid(identity.uid()).build());
      meta.addToOwnerReferences(ControllerReference.of(run, false));
    }
    var spec = new CheckpointSpec();
    spec.setTrainingRun(identity.run());
    spec.setStep(manifest.step());
    spec.setRetain(false); // only on creation: a re-report never touches the spec (a pin)
    var checkpoint = new Checkpoint();
    checkpoint.setMetadata(meta.build());
    checkpoint.setSpec(spec);
    return checkpoint;
  }

  CheckpointStatus status(Manifest manifest) {
    var status = new CheckpointStatus();
    status.setPhase(CheckpointPhase.Ready);
    var components = new TreeMap<String, String>();
    for (var component : manifest.components().keySet()) {
      components.put(
          component,
          layout.root().relativize(layout.componentDir(manifest.step(), component)).toString());
    }
    status.setComponents(components);
    status.setSizeBytes(manifest.totalBytes());
    status.setMetrics(manifest.metrics());
    status.setCompletedAt(manifest.created());
    status.setTimeline(manifest.timeline());
    status.setMessage(
        Manifest.REASON_PREEMPTION.equals(manifest.reason())
            ? "complete (reason Preemption: saved on a stop signal before the pod exited): "
                + RunLayout.MANIFEST
                + " written on the run volume"
            : "complete: " + RunLayout.MANIFEST + " written on the run volume");
    return status;
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Waits (bounded) for the queued reports, then closes the client. */
  @Override
  public void close() {
    worker.shutdown();
    try {
      if (!worker.awaitTermination(DRAIN_SECONDS, TimeUnit.SECONDS)) {
        LOG.warn(
            String.format(
                "warning: Checkpoint reports still pending after %d s; the next start resyncs them",
                DRAIN_SECONDS));
        worker.shutdownNow();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      worker.shutdownNow();
    }
    client.close();
  }
}
