package dev.stepwise.operator.dependent;

import dev.stepwise.api.StorageAccessMode;
import dev.stepwise.api.StorageSpec;
import dev.stepwise.api.TrainingRun;
import dev.stepwise.operator.Labels;
import dev.stepwise.operator.config.CompactItemStore;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaimBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.javaoperatorsdk.operator.api.config.informer.Informer;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.dependent.DependentResource;
import io.javaoperatorsdk.operator.api.reconciler.dependent.GarbageCollected;
import io.javaoperatorsdk.operator.processing.dependent.Creator;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependent;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependentResource;
import io.javaoperatorsdk.operator.processing.dependent.workflow.Condition;
import java.util.Optional;

/**
 * PVC {@code <run>-data}: the run directory. Created once and never rewritten (a claim's spec is
 * immutable once bound, and the schema forbids changing spec.storage); not created when
 * spec.storage.existingClaim names a claim of the user's.
 */
@KubernetesDependent(
    informer =
        @Informer(
            labelSelector = Labels.MANAGED_SELECTOR,
            itemStore = CompactItemStore.class,
            onAddFilter = OwnCreateFilter.class,
            onUpdateFilter = ChildUpdateFilter.class))
public class RunDataPvcDependent
    extends KubernetesDependentResource<PersistentVolumeClaim, TrainingRun>
    implements Creator<PersistentVolumeClaim, TrainingRun>, GarbageCollected<TrainingRun> {

  public static final String COMPONENT = "data";

  public RunDataPvcDependent() {
    super(PersistentVolumeClaim.class);
  }

  public static String name(TrainingRun run) {
    return name(run.getMetadata().getName());
  }

  /** The claim the operator creates for the run named {@code run}. */
  public static String name(String run) {
    return run + "-data";
  }

  /** The claim every pod of the run mounts: the user's existing claim, or ours. */
  public static String claimName(TrainingRun run) {
    var existing = existingClaim(run);
    return existing != null ? existing : name(run);
  }

  static String existingClaim(TrainingRun run) {
    var storage = run.getSpec().getStorage();
    return storage == null ? null : storage.getExistingClaim();
  }

  @Override
  protected PersistentVolumeClaim desired(TrainingRun run, Context<TrainingRun> context) {
    var storage =
        run.getSpec().getStorage() != null ? run.getSpec().getStorage() : new StorageSpec();
    var size = storage.getSize() != null ? storage.getSize() : StorageSpec.DEFAULT_SIZE;
    var mode =
        storage.getAccessMode() != null ? storage.getAccessMode() : StorageAccessMode.ReadWriteOnce;
    return new PersistentVolumeClaimBuilder()
        .withMetadata(RunDependent.metadata(run, name(run), COMPONENT))
        .withNewSpec()
        .withAccessModes(mode.name())
        .withStorageClassName(storage.getStorageClassName())
        .withNewResources()
        .addToRequests("storage", new Quantity(size))
        .endResources()
        .endSpec()
        .build();
  }

  /**
   * Reconcile precondition: the operator's own claim exists only without an existing claim. Not an
   * activation condition: JOSDK 5.3 starts a conditioned dependent's informer again on every
   * reconcile, and each start walks the informer's whole cache (every claim of every run) to
   * rebuild its index, under the informer's lock, so each reconcile cost O(runs) there. Not met, a
   * precondition deletes the dependent's resource: {@link #delete} makes that a no-op, and the
   * schema forbids changing spec.storage, so a run with an existing claim never had one of ours.
   */
  public static class NoExistingClaim implements Condition<PersistentVolumeClaim, TrainingRun> {
    @Override
    public boolean isMet(
        DependentResource<PersistentVolumeClaim, TrainingRun> dependent,
        TrainingRun run,
        Context<TrainingRun> context) {
      return existingClaim(run) == null;
    }
  }

  @Override
  public PersistentVolumeClaim create(
      PersistentVolumeClaim desired, TrainingRun run, Context<TrainingRun> context) {
    return OwnCreateFilter.created(super.create(desired, run, context), eventSource());
  }

  @Override
  public Optional<PersistentVolumeClaim> getSecondaryResource(
      TrainingRun run, Context<TrainingRun> context) {
    return RunDependent.child(eventSource(), targetSecondaryResourceID(run, context), run);
  }

  /** Never deletes: the claim holds the run's data and goes only with its run (owner reference). */
  @Override
  public void delete(TrainingRun run, Context<TrainingRun> context) {}

  /** Controlled by its run, like the other children ({@link RunDependent#controlledBy}). */
  @Override
  protected void addReferenceHandlingMetadata(PersistentVolumeClaim claim, TrainingRun run) {
    RunDependent.controlledBy(claim, run);
  }
}
