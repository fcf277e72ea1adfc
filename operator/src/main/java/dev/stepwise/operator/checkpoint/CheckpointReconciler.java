package dev.stepwise.operator.checkpoint;

import dev.stepwise.api.Checkpoint;
import dev.stepwise.api.CheckpointPhase;
import dev.stepwise.api.CheckpointStatus;
import dev.stepwise.api.Constants;
import dev.stepwise.api.ControllerReference;
import dev.stepwise.api.TrainingRun;
import dev.stepwise.operator.Labels;
import dev.stepwise.operator.checkpoint.CheckpointCleanup.Action;
import dev.stepwise.operator.config.CompactItemStore;
import dev.stepwise.operator.dependent.CheckpointCleanupJob;
import dev.stepwise.operator.status.ErrorMessages;
import dev.stepwise.operator.status.EventReason;
import dev.stepwise.operator.status.EventRecorder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.javaoperatorsdk.operator.api.config.informer.Informer;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Cleaner;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.DeleteControl;
import io.javaoperatorsdk.operator.api.reconciler.ErrorStatusUpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.Mappers;
import io.quarkiverse.operatorsdk.annotations.RBACRule;
import io.quarkiverse.operatorsdk.annotations.RBACVerbs;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jboss.logging.Logger;

/**
 * Keeps each Checkpoint's bookkeeping (phase label, owner) and, when one is deleted, carries out
 * {@link CheckpointCleanup}'s decision: its finalizer stays until a cleanup Job has removed {@code
 * checkpoints/step_<n>} from the run volume, and not while the data is a resume point or an init
 * source. Each step is an Event on the Checkpoint.
 */
@ControllerConfiguration(
    name = "checkpoint",
    finalizerName = Constants.CHECKPOINT_FINALIZER,
    informer = @Informer(itemStore = CompactItemStore.class))
// Not dependents, so QOSDK cannot infer them: the cleanup Jobs (informer, create, delete once
// done), the Checkpoint's run, read fresh, and the runs whose spec.init may start from it.
@RBACRule(
    apiGroups = "batch",
    resources = "jobs",
    verbs = {RBACVerbs.LIST, RBACVerbs.WATCH, RBACVerbs.CREATE, RBACVerbs.DELETE})
@RBACRule(
    apiGroups = Constants.GROUP,
    resources = "trainingruns",
    verbs = {RBACVerbs.GET, RBACVerbs.LIST})
@RBACRule(
    apiGroups = "",
    resources = "events",
    verbs = {RBACVerbs.GET, RBACVerbs.CREATE, RBACVerbs.PATCH})
public class CheckpointReconciler implements Reconciler<Checkpoint>, Cleaner<Checkpoint> {

  private static final Logger LOG = Logger.getLogger(CheckpointReconciler.class);

  private final EventRecorder events = new EventRecorder();

  /** How soon a cleanup that waits (a resume point, a failed Job) is looked at again. */
  static final Duration RECHECK = Duration.ofSeconds(30);

  @Override
  public List<EventSource<?, Checkpoint>> prepareEventSources(
      EventSourceContext<Checkpoint> context) {
    var jobs =
        InformerEventSourceConfiguration.from(Job.class, Checkpoint.class)
            .withItemStore(new CompactItemStore<>())
            .withLabelSelector(
                Labels.MANAGED_SELECTOR
                    + ","
                    + Labels.COMPONENT
                    + "="
                    + CheckpointCleanupJob.COMPONENT)
            .withSecondaryToPrimaryMapper(Mappers.fromOwnerReferences(Checkpoint.class))
            .build();
    return List.of(new InformerEventSource<>(jobs, context));
  }

  @Override
  public UpdateControl<Checkpoint> reconcile(Checkpoint checkpoint, Context<Checkpoint> context) {
    var changed = false;
    var labels = checkpoint.getMetadata().getLabels();
    var phase = checkpoint.getStatus() == null ? null : checkpoint.getStatus().getPhase();
    if (phase != null && !Objects.equals(labels.get(Constants.LABEL_PHASE), phase.name())) {
      labels.put(Constants.LABEL_PHASE, phase.name());
      changed = true;
    }
    var runName =
        CheckpointCleanup.identifies(checkpoint) ? checkpoint.getSpec().getTrainingRun() : null;
    if (runName != null && !labels.containsKey(Constants.LABEL_TRAINING_RUN)) {
      labels.put(Constants.LABEL_TRAINING_RUN, runName);
      changed = true;
    }
    if (runName != null && checkpoint.getMetadata().getOwnerReferences().isEmpty()) {
      var run = run(checkpoint, context);
      if (run != null) {
        checkpoint.getMetadata().getOwnerReferences().add(ControllerReference.of(run, false));
        changed = true;
      }
    }
    return changed ? UpdateControl.patchResource(checkpoint) : UpdateControl.noUpdate();
  }

  @Override
  public DeleteControl cleanup(Checkpoint cached, Context<Checkpoint> context) {
    var ns = cached.getMetadata().getNamespace();
    var client = context.getClient();
    // Read it fresh: a step rewritten by a new timeline reuses the name, and a cache that still
    // holds the old object must not start a Job with the old object's timeline.
    var checkpoint =
        client
            .resources(Checkpoint.class)
            .inNamespace(ns)
            .withName(cached.getMetadata().getName())
            .get();
    var identified = checkpoint != null && CheckpointCleanup.identifies(checkpoint);
    var run = identified ? run(checkpoint, context) : null;
    var startingFrom =
        run == null
            ? List.<String>of()
            : InitSource.runsStartingFrom(
                checkpoint, client.resources(TrainingRun.class).inNamespace(ns).list().getItems());
    var job = context.getSecondaryResource(Job.class);
    var decision =
        CheckpointCleanup.decide(checkpoint, cached.getMetadata().getUid(), run, startingFrom, job);
    if (decision.action() == Action.START_JOB) {
      var desired = CheckpointCleanupJob.desired(run, checkpoint);
      desired.getMetadata().getOwnerReferences().add(ControllerReference.of(checkpoint, true));
      try {
        client.resource(desired).create();
      } catch (KubernetesClientException e) {
        if (!ErrorMessages.isNamespaceTerminating(e)) {
          throw e;
        }
        // The namespace is being deleted, the run volume with it: nothing left to clean up, and
        // a finalizer kept here would hold the namespace's deletion.
        LOG.debugf(
            "Checkpoint %s/%s: its namespace is being deleted, released without a cleanup Job",
            ns, cached.getMetadata().getName());
        return DeleteControl.defaultDelete();
      }
    }
    // A decision that repeats (a deferred cleanup looked at again) writes nothing more.
    var changed =
        decision.phase() == null
            || setStatus(checkpoint, context, decision.phase(), decision.message());
    if (decision.event() != null && changed) {
      events.record(client, checkpoint, decision.event(), decision.message());
      LOG.infof("Checkpoint %s/%s: %s", ns, cached.getMetadata().getName(), decision.message());
    }
    return switch (decision.action()) {
      case RELEASE -> {
        job.ifPresent(j -> client.resource(j).delete());
        yield DeleteControl.defaultDelete();
      }
      case WAIT, START_JOB -> DeleteControl.noFinalizerRemoval();
      case DEFER, REPORT_FAILED_JOB -> DeleteControl.noFinalizerRemoval().rescheduleAfter(RECHECK);
    };
  }

  /**
   * A reconcile that failed (it is retried with backoff): its error goes into the Checkpoint's
   * status message and an Event, so {@code kubectl describe ckpt} shows why it is stuck. Only the
   * message is written (a merge patch of that one field): {@code checkpoint} may be a stale copy,
   * and its status must never replace the phase the runtime reported meanwhile.
   */
  @Override
  public ErrorStatusUpdateControl<Checkpoint> updateErrorStatus(
      Checkpoint checkpoint, Context<Checkpoint> context, Exception e) {
    if (ErrorMessages.isNamespaceTerminating(e)) {
      return ErrorStatusUpdateControl.<Checkpoint>noStatusUpdate().withNoRetry();
    }
    if (!ErrorMessages.worthReporting(e, context.getRetryInfo())) {
      return ErrorStatusUpdateControl.noStatusUpdate();
    }
    var message = "reconcile failed, retrying: " + ErrorMessages.of(e);
    events.record(context.getClient(), checkpoint, EventReason.ReconcileFailed, message);
    var old = checkpoint.getStatus() == null ? null : checkpoint.getStatus().getMessage();
    if (!Objects.equals(old, message)) {
      writeMessage(context.getClient(), checkpoint, message);
    }
    return ErrorStatusUpdateControl.noStatusUpdate();
  }

  /** Sets status.message of {@code checkpoint} and nothing else of its status. */
  static void writeMessage(KubernetesClient client, Checkpoint checkpoint, String message) {
    var patch = Map.of("status", Map.of("message", message));
    client
        .resources(Checkpoint.class)
        .inNamespace(checkpoint.getMetadata().getNamespace())
        .withName(checkpoint.getMetadata().getName())
        .subresource("status")
        .patch(
            PatchContext.of(PatchType.JSON_MERGE),
            client.getKubernetesSerialization().asJson(patch));
  }

  private static TrainingRun run(Checkpoint checkpoint, Context<Checkpoint> context) {
    return context
        .getClient()
        .resources(TrainingRun.class)
        .inNamespace(checkpoint.getMetadata().getNamespace())
        .withName(checkpoint.getSpec().getTrainingRun())
        .get();
  }

  /** Writes the status only when it changes; true when it did. */
  private static boolean setStatus(
      Checkpoint checkpoint, Context<Checkpoint> context, CheckpointPhase phase, String message) {
    var old = checkpoint.getStatus() == null ? new CheckpointStatus() : checkpoint.getStatus();
    if (old.getPhase() == phase && Objects.equals(old.getMessage(), message)) {
      return false;
    }
    context
        .getClient()
        .resources(Checkpoint.class)
        .inNamespace(checkpoint.getMetadata().getNamespace())
        .withName(checkpoint.getMetadata().getName())
        .editStatus(
            c -> {
              if (c.getStatus() == null) {
                c.setStatus(new CheckpointStatus());
              }
              c.getStatus().setPhase(phase);
              c.getStatus().setMessage(message);
              return c;
            });
    return true;
  }
}
