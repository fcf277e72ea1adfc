package dev.stepwise.operator.dependent;

import dev.stepwise.api.ControllerReference;
import dev.stepwise.api.RunPhase;
import dev.stepwise.api.RunType;
import dev.stepwise.api.TrainingRun;
import dev.stepwise.operator.Labels;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.dependent.DependentResource;
import io.javaoperatorsdk.operator.processing.dependent.Matcher.Result;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.CRUDKubernetesDependentResource;
import io.javaoperatorsdk.operator.processing.dependent.workflow.Condition;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import java.util.Optional;

/**
 * A child of a TrainingRun that the operator creates, keeps as desired, and leaves to garbage
 * collection through its owner reference. Updates only when a field the operator sets differs.
 */
public abstract class RunDependent<R extends HasMetadata>
    extends CRUDKubernetesDependentResource<R, TrainingRun> {

  protected RunDependent(Class<R> type) {
    super(type);
  }

  /**
   * True when the trainer and orchestrator should have no pods: the run is suspended, or complete
   * (status.phase Succeeded, decided before the children are reconciled). Inference stays up when
   * complete, so raising maxSteps continues without a cold start.
   */
  public static boolean trainingStopped(TrainingRun run) {
    return run.getSpec().isSuspended()
        || (run.getStatus() != null && run.getStatus().getPhase() == RunPhase.Succeeded);
  }

  /**
   * The run is the controller of its children ({@code controller: true}), as Kubernetes' own
   * controllers mark what they own; JOSDK's default reference is a plain owner.
   */
  @Override
  protected void addReferenceHandlingMetadata(R target, TrainingRun run) {
    controlledBy(target, run);
  }

  /**
   * The metadata of a child of {@code run}: its name, the run's namespace and the labels of {@code
   * component} (the owner reference is added by JOSDK, see {@link #addReferenceHandlingMetadata}).
   */
  static ObjectMeta metadata(TrainingRun run, String name, String component) {
    return new ObjectMetaBuilder()
        .withName(name)
        .withNamespace(run.getMetadata().getNamespace())
        .withLabels(Labels.of(run, component))
        .build();
  }

  /** Makes {@code run} the controller of {@code child} (replacing a plain reference to it). */
  static void controlledBy(HasMetadata child, TrainingRun run) {
    var references = child.getMetadata().getOwnerReferences();
    references.removeIf(r -> run.getMetadata().getUid().equals(r.getUid()));
    references.add(ControllerReference.of(run, true));
  }

  @Override
  public R create(R desired, TrainingRun run, Context<TrainingRun> context) {
    return OwnCreateFilter.created(super.create(desired, run, context), eventSource());
  }

  @Override
  public Optional<R> getSecondaryResource(TrainingRun run, Context<TrainingRun> context) {
    return child(eventSource(), targetSecondaryResourceID(run, context), run);
  }

  /**
   * The child {@code id} of {@code run}, read by name from the dependent's own informer. JOSDK's
   * default reads every child of that kind of the run from every informer of the kind (the claims
   * informer of ExistingClaims too) and then picks by name, and each read is a fresh copy out of
   * the cache ({@link dev.stepwise.operator.config.CompactItemStore}). As with JOSDK's
   * owner-reference mapping, a child belongs to the run its owner reference names.
   */
  static <R extends HasMetadata> Optional<R> child(
      Optional<InformerEventSource<R, TrainingRun>> informer, ResourceID id, TrainingRun run) {
    return informer
        .flatMap(i -> i.get(id))
        .filter(
            child ->
                child.getMetadata().getOwnerReferences().stream()
                    .anyMatch(
                        r ->
                            run.getKind().equals(r.getKind())
                                && run.getMetadata().getName().equals(r.getName())));
  }

  @Override
  public Result<R> match(R actual, R desired, TrainingRun run, Context<TrainingRun> context) {
    return Result.computed(DesiredStateMatcher.matches(desired, actual), desired);
  }

  /**
   * Reconcile precondition of the orchestrator and inference objects: they exist for rl runs. A
   * precondition, not an activation condition: with activation, whose informers are registered only
   * when first needed, the two Deployment dependents did not see the Deployments they had created,
   * and on a real API server the operator POSTed both on every reconcile (409 AlreadyExists). A
   * run's type cannot change, so "not met" never has anything to delete.
   */
  public static class RlOnly implements Condition<HasMetadata, TrainingRun> {
    @Override
    public boolean isMet(
        DependentResource<HasMetadata, TrainingRun> dependent,
        TrainingRun run,
        Context<TrainingRun> context) {
      return run.getSpec().getType() == RunType.RL;
    }
  }
}
