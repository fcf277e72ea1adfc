package dev.stepwise.operator;

import dev.stepwise.api.Checkpoint;
import dev.stepwise.api.Constants;
import dev.stepwise.api.TrainingRun;
import dev.stepwise.api.TrainingRunStatus;
import dev.stepwise.api.retention.RetentionDecision.Quota;
import dev.stepwise.api.retention.RetentionDecision.QuotaState;
import dev.stepwise.api.retention.RetentionRules;
import dev.stepwise.operator.checkpoint.InitSource;
import dev.stepwise.operator.checkpoint.ResumeRequest;
import dev.stepwise.operator.checkpoint.RetentionPolicy;
import dev.stepwise.operator.checkpoint.RunCheckpoints;
import dev.stepwise.operator.config.CompactItemStore;
import dev.stepwise.operator.dependent.InferenceDeploymentDependent;
import dev.stepwise.operator.dependent.InferenceServiceDependent;
import dev.stepwise.operator.dependent.OrchestratorDeploymentDependent;
import dev.stepwise.operator.dependent.RunDataPvcDependent;
import dev.stepwise.operator.dependent.RunDependent;
import dev.stepwise.operator.dependent.RuntimeRoleBindingDependent;
import dev.stepwise.operator.dependent.RuntimeRoleDependent;
import dev.stepwise.operator.dependent.RuntimeServiceAccountDependent;
import dev.stepwise.operator.dependent.TrainerPods;
import dev.stepwise.operator.dependent.TrainerServiceDependent;
import dev.stepwise.operator.dependent.TrainerStatefulSetDependent;
import dev.stepwise.operator.dependent.TrainingConfigMapDependent;
import dev.stepwise.operator.status.ErrorMessages;
import dev.stepwise.operator.status.EventReason;
import dev.stepwise.operator.status.EventRecorder;
import dev.stepwise.operator.status.PodProblems;
import dev.stepwise.operator.status.RestartCounter;
import dev.stepwise.operator.status.RunStatusCalculator;
import dev.stepwise.operator.status.RunStatusWriter;
import dev.stepwise.operator.status.RunTransitions;
import dev.stepwise.operator.status.Workload;
import dev.stepwise.operator.validation.ExistingClaims;
import dev.stepwise.operator.validation.TrainingRunValidator;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.javaoperatorsdk.operator.api.config.informer.Informer;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.ErrorStatusUpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.Workflow;
import io.javaoperatorsdk.operator.api.reconciler.dependent.Dependent;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import io.quarkiverse.operatorsdk.annotations.RBACRule;
import io.quarkiverse.operatorsdk.annotations.RBACVerbs;
import java.net.HttpURLConnection;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.jboss.logging.Logger;

/**
 * Turns a TrainingRun into its workloads: observe, validate, reconcile the children, report. The
 * children are created only once the spec passed validation, so a bad spec builds nothing.
 */
// Resource versions are not compared on the TrainingRun informer: with them, JOSDK 5.3 defers the
// events that arrive while the reconcile patches the status and keeps the last one only, its own
// write, so a spec change (a resume, a new maxSteps) made during that patch was dropped and waited
// for the next resync (operator-framework/java-operator-sdk#3398, fixed after 5.3). Status-only
// events, its own included, are still skipped (generation-aware processing).
@ControllerConfiguration(
    name = "trainingrun",
    informer = @Informer(comparableResourceVersions = false, itemStore = CompactItemStore.class))
// What the reconcile calls directly (its dependents' rules are derived by QOSDK): the informers on
// Checkpoints and pods, retention deleting Checkpoints, outdated trainer pods deleted after a
// resume, and Events (a repeated one is read and its count patched). The informer on existing
// claims uses the claims rules derived for RunDataPvcDependent (get, list, watch).
@RBACRule(
    apiGroups = Constants.GROUP,
    resources = "checkpoints",
    verbs = {RBACVerbs.LIST, RBACVerbs.WATCH, RBACVerbs.DELETE})
@RBACRule(
    apiGroups = "",
    resources = "pods",
    verbs = {RBACVerbs.LIST, RBACVerbs.WATCH, RBACVerbs.DELETE})
@RBACRule(
    apiGroups = "",
    resources = "events",
    verbs = {RBACVerbs.GET, RBACVerbs.CREATE, RBACVerbs.PATCH})
// Kubernetes lets the operator create the per-run Role (RuntimeRoleDependent) only if it holds
// every permission that Role grants itself (no "escalate", no "bind" is granted).
@RBACRule(
    apiGroups = Constants.GROUP,
    resources = "checkpoints",
    verbs = {RBACVerbs.GET, RBACVerbs.LIST, RBACVerbs.CREATE, RBACVerbs.UPDATE, RBACVerbs.PATCH})
@RBACRule(
    apiGroups = Constants.GROUP,
    resources = "checkpoints/status",
    verbs = {RBACVerbs.GET, RBACVerbs.UPDATE, RBACVerbs.PATCH})
@RBACRule(
    apiGroups = Constants.GROUP,
    resources = "trainingruns/status",
    verbs = {RBACVerbs.PATCH})
@Workflow(
    explicitInvocation = true,
    dependents = {
      @Dependent(name = "config", type = TrainingConfigMapDependent.class),
      @Dependent(name = "runtime-sa", type = RuntimeServiceAccountDependent.class),
      @Dependent(name = "runtime-role", type = RuntimeRoleDependent.class),
      // A RoleBinding to a Role that does not exist yet is refused to a non-admin (the API server
      // checks the binder holds the Role's permissions): the Role first.
      @Dependent(
          name = "runtime-rolebinding",
          type = RuntimeRoleBindingDependent.class,
          dependsOn = {"runtime-role", "runtime-sa"}),
      @Dependent(
          name = "data",
          type = RunDataPvcDependent.class,
          reconcilePrecondition = RunDataPvcDependent.NoExistingClaim.class),
      @Dependent(name = "trainer-service", type = TrainerServiceDependent.class),
      // A pod whose ServiceAccount does not exist is refused, so the trainer waits for it; not for
      // the RoleBinding: two RBAC writes in a row are the slowest chain of a run, and a trainer
      // that reports before its binding exists is refused and retries (CheckpointReporter).
      @Dependent(
          name = "trainer",
          type = TrainerStatefulSetDependent.class,
          dependsOn = {"runtime-sa", "config"}),
      @Dependent(
          name = "orchestrator",
          type = OrchestratorDeploymentDependent.class,
          reconcilePrecondition = RunDependent.RlOnly.class),
      // One informer per kind: the inference Deployment and Service are read through the
      // orchestrator's and the trainer Service's, which hold every managed object of their kind.
      @Dependent(
          name = "inference",
          type = InferenceDeploymentDependent.class,
          reconcilePrecondition = RunDependent.RlOnly.class,
          useEventSourceWithName = "orchestrator"),
      @Dependent(
          name = "inference-service",
          type = InferenceServiceDependent.class,
          reconcilePrecondition = RunDependent.RlOnly.class,
          useEventSourceWithName = "trainer-service")
    })
public class TrainingRunReconciler implements Reconciler<TrainingRun> {

  private static final Logger LOG = Logger.getLogger(TrainingRunReconciler.class);

  /** How soon an invalid run is looked at again (a missing claim may appear meanwhile). */
  static final Duration RECHECK_INVALID = Duration.ofSeconds(30);

  /** How soon a run whose resume was just recorded is reconciled into its workloads. */
  static final Duration APPLY_RESUME = Duration.ofMillis(50);

  private final TrainingRunValidator validator = new TrainingRunValidator();
  private final EventRecorder events = new EventRecorder();

  @Override
  public List<EventSource<?, TrainingRun>> prepareEventSources(
      EventSourceContext<TrainingRun> context) {
    // A Checkpoint concerns its own run and the runs whose spec.init starts from that run.
    var runs = context.getPrimaryCache();
    runs.addIndexer(InitSource.INDEX, InitSource::indexKeys);
    var checkpoints =
        InformerEventSourceConfiguration.from(Checkpoint.class, TrainingRun.class)
            .withItemStore(new CompactItemStore<>())
            .withSecondaryToPrimaryMapper(
                (Checkpoint c) -> {
                  if (c.getSpec() == null || c.getSpec().getTrainingRun() == null) {
                    return Set.of();
                  }
                  var ns = c.getMetadata().getNamespace();
                  var owner = c.getSpec().getTrainingRun();
                  var ids = new HashSet<ResourceID>();
                  ids.add(new ResourceID(owner, ns));
                  runs.byIndex(InitSource.INDEX, InitSource.key(ns, owner))
                      .forEach(r -> ids.add(ResourceID.fromResource(r)));
                  return ids;
                })
            .build();
    var pods =
        InformerEventSourceConfiguration.from(Pod.class, TrainingRun.class)
            .withItemStore(new CompactItemStore<>())
            .withLabelSelector(Labels.MANAGED_SELECTOR)
            .withSecondaryToPrimaryMapper(
                (Pod p) -> {
                  var run = p.getMetadata().getLabels().get(Constants.LABEL_TRAINING_RUN);
                  return run == null
                      ? Set.of()
                      : Set.of(new ResourceID(run, p.getMetadata().getNamespace()));
                })
            .build();
    return List.of(
        new InformerEventSource<>(checkpoints, context),
        new InformerEventSource<>(pods, context),
        ExistingClaims.eventSource(context));
  }

  @Override
  public UpdateControl<TrainingRun> reconcile(TrainingRun run, Context<TrainingRun> context) {
    var now = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
    var previous = run.getStatus();
    var checkpoints = RunCheckpoints.of(run, context.getSecondaryResources(Checkpoint.class));
    var problem =
        validator
            .validate(run, context)
            .or(() -> InitSource.problem(run, context))
            .or(() -> ResumeRequest.problem(run, checkpoints));
    if (problem.isPresent()) {
      LOG.debugf(
          "TrainingRun %s/%s not reconciled: %s",
          run.getMetadata().getNamespace(), run.getMetadata().getName(), problem.get().message());
      var next = RunStatusCalculator.invalid(run, problem.get(), now);
      return report(run, context, previous, next).rescheduleAfter(RECHECK_INVALID);
    }
    if (ResumeRequest.isNew(run)) {
      // Status as write-ahead log: record the resume first; the next reconcile applies it.
      var accepted = ResumeRequest.accept(run, RunStatusCalculator.resuming(run, now));
      events.record(
          context.getClient(),
          run,
          EventReason.ResumeAccepted,
          "resuming from checkpoint step %d (timeline %d): trainer and orchestrator restart,"
                  .formatted(accepted.getResumedFrom(), accepted.getTimeline())
              + " inference keeps running");
      return report(run, context, previous, accepted).rescheduleAfter(APPLY_RESUME);
    }
    run.setStatus(RunStatusCalculator.progress(run, checkpoints));
    try {
      context.managedWorkflowAndDependentResourceContext().reconcileManagedWorkflow();
    } catch (RuntimeException e) {
      if (!ErrorMessages.isNamespaceTerminating(e)) {
        throw e;
      }
      // The namespace is being deleted (its controller deletes the children, then the run): what
      // it refuses to recreate goes with it, so neither a retry nor an error is due.
      LOG.debugf(
          "TrainingRun %s/%s: its namespace is being deleted, children not recreated",
          run.getMetadata().getNamespace(), run.getMetadata().getName());
      return UpdateControl.noUpdate();
    }
    var quota = retain(run, checkpoints, context);
    TrainerPods.deleteOutdated(run, context);
    var pods = context.getSecondaryResources(Pod.class);
    var recoveries =
        RestartCounter.count(
            run.getStatus().getRestarts(),
            run.getStatus().getPods(),
            TrainerPods.observed(pods),
            TrainerPods.cleanExits(pods));
    run.getStatus().setRestarts(recoveries.restarts());
    run.getStatus().setPods(recoveries.pods());
    var next =
        RunStatusCalculator.withQuota(
            run,
            RunStatusCalculator.reconciled(
                run, Workload.observe(run, context), PodProblems.of(pods), now),
            quota,
            now);
    return report(run, context, previous, next);
  }

  /**
   * Enforces spec.ckpt retention (keep, keepEvery, keepBest, maxBytes): deletes the Checkpoints
   * {@link RetentionPolicy} retires (their finalizer cleans up the data), never one another run's
   * spec.init starts from, and returns how the quota stands.
   */
  private Quota retain(TrainingRun run, RunCheckpoints checkpoints, Context<TrainingRun> context) {
    var rules = RetentionRules.of(run.getSpec().getCkpt());
    if (rules.keepsAll()) {
      return new Quota(QuotaState.NONE, null);
    }
    var usedByOthers =
        InitSource.stepsUsedBy(
            run,
            context
                .getPrimaryCache()
                .byIndex(
                    InitSource.INDEX,
                    InitSource.key(run.getMetadata().getNamespace(), run.getMetadata().getName())));
    var decision =
        RetentionPolicy.decide(checkpoints, rules, run.getStatus().getResumedFrom(), usedByOthers);
    var reasons = decision.deletions().iterator();
    for (var old : RetentionPolicy.toDelete(checkpoints, decision)) {
      var reason = reasons.next().reason();
      if (deleteAsSeen(old, context)) {
        events.record(
            context.getClient(),
            run,
            EventReason.CheckpointPruned,
            "deleted Checkpoint %s: %s".formatted(old.getMetadata().getName(), reason));
      }
    }
    if (decision.quota().state() == QuotaState.EXCEEDED_BY_PROTECTED) {
      events.record(
          context.getClient(),
          run,
          EventReason.CheckpointQuotaExceeded,
          decision.quota().message());
    }
    return decision.quota();
  }

  /**
   * Deletes {@code checkpoint} only as the cache showed it (a resourceVersion precondition): the
   * decision was made on that version, and a Checkpoint that changed since (a new timeline's
   * trainer re-reported the step under the same name, or deleted and created it anew) must not go
   * on a stale view. The change brings another reconcile, which decides again.
   *
   * @return whether it was deleted
   */
  private static boolean deleteAsSeen(Checkpoint checkpoint, Context<TrainingRun> context) {
    try {
      context.getClient().resource(checkpoint).lockResourceVersion().delete();
      return true;
    } catch (KubernetesClientException e) {
      if (e.getCode() != HttpURLConnection.HTTP_CONFLICT
          && e.getCode() != HttpURLConnection.HTTP_NOT_FOUND) {
        throw e;
      }
      LOG.debugf(
          "Checkpoint %s/%s changed since the cache showed it: not deleted, decided again",
          checkpoint.getMetadata().getNamespace(), checkpoint.getMetadata().getName());
      return false;
    }
  }

  /**
   * A reconcile that failed (it is retried with backoff): Ready becomes False with reason
   * ReconcileError and the error in its message, and an Event says it, so {@code kubectl describe
   * tr} shows why the run is stuck instead of only the operator's log.
   */
  @Override
  public ErrorStatusUpdateControl<TrainingRun> updateErrorStatus(
      TrainingRun run, Context<TrainingRun> context, Exception e) {
    if (ErrorMessages.isNamespaceTerminating(e)) {
      // The run goes with its namespace: no retry, no Event (refused there too).
      return ErrorStatusUpdateControl.<TrainingRun>noStatusUpdate().withNoRetry();
    }
    if (!ErrorMessages.worthReporting(e, context.getRetryInfo())) {
      return ErrorStatusUpdateControl.noStatusUpdate();
    }
    var now = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
    var message = "reconcile failed, retrying: " + ErrorMessages.of(e);
    LOG.warnf(
        "TrainingRun %s/%s: %s",
        run.getMetadata().getNamespace(), run.getMetadata().getName(), message);
    events.record(context.getClient(), run, EventReason.ReconcileFailed, message);
    var next = RunStatusCalculator.failedReconcile(run, message, now);
    if (RunStatusCalculator.changed(run.getStatus(), next)) {
      RunStatusWriter.write(context, run, next);
    }
    return ErrorStatusUpdateControl.noStatusUpdate();
  }

  private UpdateControl<TrainingRun> report(
      TrainingRun run,
      Context<TrainingRun> context,
      TrainingRunStatus previous,
      TrainingRunStatus next) {
    if (!RunStatusCalculator.changed(previous, next)) {
      return UpdateControl.noUpdate();
    }
    RunStatusWriter.write(context, run, next)
        .ifPresent(
            before -> {
              for (var transition : RunTransitions.between(before, next)) {
                events.record(context.getClient(), run, transition.reason(), transition.message());
              }
            });
    return UpdateControl.noUpdate();
  }
}
