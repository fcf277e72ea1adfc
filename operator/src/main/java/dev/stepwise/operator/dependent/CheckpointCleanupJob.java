package dev.stepwise.operator.dependent;

import dev.stepwise.api.Checkpoint;
import dev.stepwise.api.TrainingRun;
import dev.stepwise.operator.Labels;
import dev.stepwise.operator.Roles;
import io.fabric8.kubernetes.api.model.Affinity;
import io.fabric8.kubernetes.api.model.AffinityBuilder;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.VolumeMountBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import java.util.ArrayList;
import java.util.List;

/**
 * Job {@code <run>-cleanup-step-<n>}: deletes one checkpoint's directory from the run volume
 * ({@code stepwise checkpoint delete}) when its Checkpoint is deleted. Owned by the Checkpoint; the
 * Checkpoint's finalizer stays until the Job has succeeded. The timeline is passed along, so a step
 * that a newer timeline has since rewritten is left alone.
 */
public final class CheckpointCleanupJob {

  public static final String COMPONENT = "cleanup";

  /** Retries of a failed cleanup pod before the Job, and the Checkpoint, are Failed. */
  public static final int BACKOFF_LIMIT = 3;

  static final String HOSTNAME_TOPOLOGY = "kubernetes.io/hostname";

  private CheckpointCleanupJob() {}

  public static String name(TrainingRun run, long step) {
    return run.getMetadata().getName() + "-cleanup-step-" + step;
  }

  public static List<String> args(Checkpoint checkpoint) {
    var args =
        new ArrayList<>(
            List.of(
                "checkpoint",
                "delete",
                "--output-dir",
                RuntimeArgs.RUN_DIR,
                "--step",
                String.valueOf(checkpoint.getSpec().getStep())));
    var status = checkpoint.getStatus();
    if (status != null && status.getTimeline() != null) {
      args.addAll(List.of("--timeline", String.valueOf(status.getTimeline())));
    }
    return args;
  }

  /**
   * Prefer the node of the run's trainer pods. A ReadWriteOnce volume is attached to one node at a
   * time: while a trainer runs, a cleanup pod on another node would wait forever for the volume
   * (Multi-Attach error). Preferred, not required: when no trainer pod runs (a suspended or
   * finished run, a trainer between restarts) a required affinity would leave the Job unschedulable
   * for good, while the volume can then attach anywhere; ReadWriteMany volumes need no affinity.
   */
  static Affinity nearTheTrainer(TrainingRun run) {
    return new AffinityBuilder()
        .withNewPodAffinity()
        .addNewPreferredDuringSchedulingIgnoredDuringExecution()
        .withWeight(100)
        .withNewPodAffinityTerm()
        .withNewLabelSelector()
        .withMatchLabels(Labels.selector(run, Roles.TRAINER.id()))
        .endLabelSelector()
        .withTopologyKey(HOSTNAME_TOPOLOGY)
        .endPodAffinityTerm()
        .endPreferredDuringSchedulingIgnoredDuringExecution()
        .endPodAffinity()
        .build();
  }

  /** The Job for {@code checkpoint} of {@code run}; the caller sets the owner reference. */
  public static Job desired(TrainingRun run, Checkpoint checkpoint) {
    var container =
        new ContainerBuilder()
            .withName(COMPONENT)
            .withImage(run.getSpec().getImage())
            .withCommand(RuntimeArgs.COMMAND)
            .withArgs(args(checkpoint))
            .withNewResources()
            .addToRequests("cpu", new Quantity("50m"))
            .addToRequests("memory", new Quantity("128Mi"))
            .addToLimits("memory", new Quantity("512Mi"))
            .endResources()
            .withSecurityContext(PodTemplates.containerSecurity())
            .withVolumeMounts(
                PodTemplates.tmpMount(),
                new VolumeMountBuilder()
                    .withName(PodTemplates.RUN_VOLUME)
                    .withMountPath(RuntimeArgs.RUN_DIR)
                    .build())
            .build();
    return new JobBuilder()
        .withNewMetadata()
        .withName(name(run, checkpoint.getSpec().getStep()))
        .withNamespace(run.getMetadata().getNamespace())
        .withLabels(Labels.of(run, COMPONENT))
        .endMetadata()
        .withNewSpec()
        .withBackoffLimit(BACKOFF_LIMIT)
        .withNewTemplate()
        .withNewMetadata()
        .withLabels(Labels.of(run, COMPONENT))
        .endMetadata()
        .withNewSpec()
        .withRestartPolicy("Never")
        .withServiceAccountName(RuntimeServiceAccountDependent.name(run))
        .withAutomountServiceAccountToken(false)
        .withSecurityContext(PodTemplates.podSecurity())
        .withAffinity(nearTheTrainer(run))
        .withContainers(container)
        .withVolumes(PodTemplates.tmpVolume(), PodTemplates.runVolume(run))
        .endSpec()
        .endTemplate()
        .endSpec()
        .build();
  }
}
