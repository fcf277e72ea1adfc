package dev.stepwise.operator.dependent;

import dev.stepwise.api.Constants;
import dev.stepwise.api.TrainerSpec;
import dev.stepwise.api.TrainingRun;
import dev.stepwise.operator.Labels;
import dev.stepwise.operator.Roles;
import dev.stepwise.operator.checkpoint.InitSource;
import dev.stepwise.operator.config.CompactItemStore;
import io.fabric8.kubernetes.api.model.ContainerPortBuilder;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarBuilder;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.apps.StatefulSetBuilder;
import io.javaoperatorsdk.operator.api.config.informer.Informer;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependent;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import java.util.List;
import java.util.Optional;

/**
 * StatefulSet {@code <run>-trainer}: one pod per rank. The pod ordinal is the rank; all ranks start
 * together (Parallel) because distributed training waits for the whole world.
 */
@KubernetesDependent(
    informer =
        @Informer(
            labelSelector = Labels.MANAGED_SELECTOR,
            itemStore = CompactItemStore.class,
            onAddFilter = OwnCreateFilter.class,
            onUpdateFilter = ChildUpdateFilter.class))
public class TrainerStatefulSetDependent extends RunDependent<StatefulSet> {

  public TrainerStatefulSetDependent() {
    super(StatefulSet.class);
  }

  public static String name(TrainingRun run) {
    return run.getMetadata().getName() + "-trainer";
  }

  /** Ranks the spec asks for (WORLD_SIZE), whether or not the run is suspended. */
  public static int worldSize(TrainingRun run) {
    var trainer = trainer(run);
    return trainer.getReplicas() == null ? 1 : trainer.getReplicas();
  }

  private static TrainerSpec trainer(TrainingRun run) {
    return run.getSpec().getTrainer() != null ? run.getSpec().getTrainer() : new TrainerSpec();
  }

  @Override
  protected StatefulSet desired(TrainingRun run, Context<TrainingRun> context) {
    return statefulSet(
        run, InitSource.of(run).map(c -> initClaim(run, c.getTrainingRun(), context)));
  }

  /**
   * The trainer StatefulSet; with {@code initClaim} (spec.init), the pods also mount that claim
   * read-only at {@link RuntimeArgs#INIT_DIR}.
   */
  static StatefulSet statefulSet(TrainingRun run, Optional<String> initClaim) {
    var trainer = trainer(run);
    var pod =
        PodTemplates.runtimePod(
                run,
                Roles.TRAINER,
                RuntimeArgs.trainer(run),
                trainer.getResources(),
                trainer.getGpus())
            .editSpec()
            .editFirstContainer()
            .withEnv(env(run))
            .withPorts(
                new ContainerPortBuilder()
                    .withName("dist")
                    .withContainerPort(RuntimeArgs.MASTER_PORT)
                    .build(),
                PodTemplates.metricsPort())
            .endContainer()
            .withAutomountServiceAccountToken(true) // rank 0 reports its checkpoints
            .endSpec();
    initClaim.ifPresent(
        claim ->
            pod.editSpec()
                .addToVolumes(PodTemplates.initVolume(claim))
                .editFirstContainer()
                .addToVolumeMounts(PodTemplates.initMount())
                .endContainer()
                .endSpec());
    return new StatefulSetBuilder()
        .withMetadata(metadata(run, name(run), Roles.TRAINER.id()))
        .withNewSpec()
        .withReplicas(trainingStopped(run) ? 0 : worldSize(run))
        .withServiceName(TrainerServiceDependent.name(run))
        .withPodManagementPolicy("Parallel")
        .withNewSelector()
        .withMatchLabels(Labels.selector(run, Roles.TRAINER.id()))
        .endSelector()
        .withTemplate(pod.build())
        .endSpec()
        .build();
  }

  /**
   * The claim of the run spec.init starts from (its existingClaim, or the claim the operator made
   * for it), from the TrainingRun cache; validation made sure that run exists before the first
   * trainer pod.
   */
  private static String initClaim(TrainingRun run, String source, Context<TrainingRun> context) {
    return context
        .getPrimaryCache()
        .get(new ResourceID(source, run.getMetadata().getNamespace()))
        .map(RunDataPvcDependent::claimName)
        .orElseGet(() -> RunDataPvcDependent.name(source));
  }

  /**
   * torchrun's names: RANK from the pod ordinal, WORLD_SIZE, and rank 0's address; and the run the
   * Checkpoint reporter speaks for ({@link Constants#ENV_TRAINING_RUN} and its namespace and uid).
   */
  static List<EnvVar> env(TrainingRun run) {
    return List.of(
        new EnvVarBuilder()
            .withName("RANK")
            .withNewValueFrom()
            .withNewFieldRef()
            .withFieldPath("metadata.labels['" + Labels.POD_INDEX + "']")
            .endFieldRef()
            .endValueFrom()
            .build(),
        new EnvVarBuilder()
            .withName("WORLD_SIZE")
            .withValue(String.valueOf(worldSize(run)))
            .build(),
        new EnvVarBuilder()
            .withName("MASTER_ADDR")
            .withValue(TrainerServiceDependent.masterAddress(run))
            .build(),
        new EnvVarBuilder()
            .withName("MASTER_PORT")
            .withValue(String.valueOf(RuntimeArgs.MASTER_PORT))
            .build(),
        new EnvVarBuilder()
            .withName(Constants.ENV_TRAINING_RUN)
            .withValue(run.getMetadata().getName())
            .build(),
        new EnvVarBuilder()
            .withName(Constants.ENV_NAMESPACE)
            .withNewValueFrom()
            .withNewFieldRef()
            .withFieldPath("metadata.namespace")
            .endFieldRef()
            .endValueFrom()
            .build(),
        new EnvVarBuilder()
            .withName(Constants.ENV_RUN_UID)
            .withValue(run.getMetadata().getUid())
            .build());
  }
}
