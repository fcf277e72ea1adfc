package dev.stepwise.operator.dependent;

import dev.stepwise.api.RunPhase;
import dev.stepwise.api.RunType;
import dev.stepwise.api.TrainingRun;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.dependent.DependentResource;
import io.javaoperatorsdk.operator.processing.dependent.Matcher.Result;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.CRUDKubernetesDependentResource;
import io.javaoperatorsdk.operator.processing.dependent.workflow.Condition;

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

  @Override
  public Result<R> match(R actual, R desired, TrainingRun run, Context<TrainingRun> context) {
    return Result.computed(DesiredStateMatcher.matches(desired, actual), desired);
  }

  /** Activation condition of the orchestrator and inference objects: they exist for rl runs. */
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
