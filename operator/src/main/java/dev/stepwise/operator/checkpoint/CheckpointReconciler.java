package dev.stepwise.operator.checkpoint;

import dev.stepwise.api.Checkpoint;
import dev.stepwise.api.CheckpointPhase;
import dev.stepwise.api.CheckpointStatus;
import dev.stepwise.api.Constants;
import dev.stepwise.api.ControllerReference;
import dev.stepwise.api.TrainingRun;
import dev.stepwise.operator.Labels;
import dev.stepwise.operator.dependent.CheckpointCleanupJob;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Cleaner;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.DeleteControl;
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
import java.util.Objects;
import org.jboss.logging.Logger;

/**
 * Keeps each Checkpoint's bookkeeping (phase label, owner) and, when one is deleted, deletes its
 * data first: its finalizer stays until a cleanup Job has removed {@code checkpoints/step_<n>} from
 * the run volume. The checkpoint a run resumed from is not cleaned while it is the resume point,
 * nor one that a run's spec.init starts from while that run exists.
 */
@ControllerConfiguration(name = "checkpoint", finalizerName = Labels.CHECKPOINT_FINALIZER)
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
public class CheckpointReconciler implements Reconciler<Checkpoint>, Cleaner<Checkpoint> {

  private static final Logger LOG = Logger.getLogger(CheckpointReconciler.class);

  /** How soon a cleanup that waits (a resume point, a failed Job) is looked at again. */
  static final Duration RECHECK = Duration.ofSeconds(30);

  @Override
  public List<EventSource<?, Checkpoint>> prepareEventSources(
      EventSourceContext<Checkpoint> context) {
    var jobs =
        InformerEventSourceConfiguration.from(Job.class, Checkpoint.class)
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
    if (phase != null && !Objects.equals(labels.get(Labels.PHASE), phase.name())) {
      labels.put(Labels.PHASE, phase.name());
      changed = true;
    }
    var runName = identifies(checkpoint) ? checkpoint.getSpec().getTrainingRun() : null;
    if (runName != null && !labels.containsKey(Labels.TRAINING_RUN)) {
      labels.put(Labels.TRAINING_RUN, runName);
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
    var name = cached.getMetadata().getName();
    var ns = cached.getMetadata().getNamespace();
    // Read it fresh: a step rewritten by a new timeline reuses the name, and a cache that still
    // holds the old object must not start a Job with the old object's timeline.
    var checkpoint =
        context.getClient().resources(Checkpoint.class).inNamespace(ns).withName(name).get();
    if (checkpoint == null || !identifies(checkpoint)) {
      return DeleteControl.defaultDelete(); // gone, or without a spec: no data of it to clean
    }
    if (!checkpoint.getMetadata().getUid().equals(cached.getMetadata().getUid())
        || checkpoint.getMetadata().getDeletionTimestamp() == null) {
      return DeleteControl.noFinalizerRemoval(); // a newer object: its own events follow
    }
    var run = run(checkpoint, context);
    if (run == null || run.getMetadata().getDeletionTimestamp() != null) {
      // The run volume goes with the run (an existing claim stays, as the user's).
      LOG.infof("Checkpoint %s/%s: its run is gone, nothing to clean", ns, name);
      return DeleteControl.defaultDelete();
    }
    var step = checkpoint.getSpec().getStep();
    var status = run.getStatus();
    if (status != null && Objects.equals(status.getResumedFrom(), step)) {
      setStatus(
          checkpoint,
          context,
          CheckpointPhase.Ready,
          "run %s resumed from this checkpoint: its data is kept until the run resumes elsewhere"
              .formatted(run.getMetadata().getName()));
      return DeleteControl.noFinalizerRemoval().rescheduleAfter(RECHECK);
    }
    var startingFrom =
        InitSource.runsStartingFrom(
            checkpoint,
            context.getClient().resources(TrainingRun.class).inNamespace(ns).list().getItems());
    if (!startingFrom.isEmpty()) {
      setStatus(
          checkpoint,
          context,
          CheckpointPhase.Ready,
          "run %s starts from this checkpoint (spec.init): its data is kept until no run does"
              .formatted(String.join(", ", startingFrom)));
      return DeleteControl.noFinalizerRemoval().rescheduleAfter(RECHECK);
    }
    var job = context.getSecondaryResource(Job.class);
    if (job.isEmpty()) {
      var desired = CheckpointCleanupJob.desired(run, checkpoint);
      desired.getMetadata().getOwnerReferences().add(ControllerReference.of(checkpoint, true));
      context.getClient().resource(desired).create();
      LOG.infof(
          "Checkpoint %s/%s deleted: cleanup Job %s started",
          ns, name, desired.getMetadata().getName());
      setStatus(
          checkpoint,
          context,
          CheckpointPhase.Deleting,
          "deleting checkpoints/step_%d from the run volume (Job %s)"
              .formatted(step, desired.getMetadata().getName()));
      return DeleteControl.noFinalizerRemoval();
    }
    var jobStatus = job.get().getStatus();
    if (jobStatus != null && jobStatus.getSucceeded() != null && jobStatus.getSucceeded() > 0) {
      context.getClient().resource(job.get()).delete();
      LOG.infof("Checkpoint %s/%s: data deleted", ns, name);
      return DeleteControl.defaultDelete();
    }
    if (jobStatus != null
        && jobStatus.getFailed() != null
        && jobStatus.getFailed() > CheckpointCleanupJob.BACKOFF_LIMIT) {
      setStatus(
          checkpoint,
          context,
          CheckpointPhase.Failed,
          "cleanup Job %s failed: see its pods' logs; delete the Job to retry"
              .formatted(job.get().getMetadata().getName()));
      return DeleteControl.noFinalizerRemoval().rescheduleAfter(RECHECK);
    }
    return DeleteControl.noFinalizerRemoval();
  }

  /** The spec names a run and a step (the schema does not require a spec at all). */
  private static boolean identifies(Checkpoint checkpoint) {
    var spec = checkpoint.getSpec();
    return spec != null && spec.getTrainingRun() != null && spec.getStep() != null;
  }

  private static TrainingRun run(Checkpoint checkpoint, Context<Checkpoint> context) {
    return context
        .getClient()
        .resources(TrainingRun.class)
        .inNamespace(checkpoint.getMetadata().getNamespace())
        .withName(checkpoint.getSpec().getTrainingRun())
        .get();
  }

  /** Writes the status only when it changes. */
  private static void setStatus(
      Checkpoint checkpoint, Context<Checkpoint> context, CheckpointPhase phase, String message) {
    var old = checkpoint.getStatus() == null ? new CheckpointStatus() : checkpoint.getStatus();
    if (old.getPhase() == phase && Objects.equals(old.getMessage(), message)) {
      return;
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
  }
}
