package dev.stepwise.operator.dependent;

import dev.stepwise.api.TrainingRun;
import dev.stepwise.operator.Labels;
import dev.stepwise.operator.Roles;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.PodTemplateSpecBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import io.fabric8.kubernetes.api.model.ResourceRequirementsBuilder;
import io.fabric8.kubernetes.api.model.VolumeBuilder;
import io.fabric8.kubernetes.api.model.VolumeMountBuilder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/** What every pod of a run shares: the runtime container, its config and run directory mounts. */
final class PodTemplates {

  static final String GPU = "nvidia.com/gpu";
  static final String CONFIG_VOLUME = "config";
  static final String RUN_VOLUME = "run";

  private PodTemplates() {}

  /**
   * A pod template running {@code stepwise args...} for {@code role}; the caller adds env, ports
   * and probes to the returned container.
   */
  static PodTemplateSpecBuilder runtimePod(
      TrainingRun run,
      Roles role,
      List<String> args,
      ResourceRequirements resources,
      Integer gpus) {
    var container =
        new ContainerBuilder()
            .withName(role.id())
            .withImage(run.getSpec().getImage())
            .withCommand(RuntimeArgs.COMMAND)
            .withArgs(args)
            .withResources(withGpus(resources, gpus))
            .withVolumeMounts(
                new VolumeMountBuilder()
                    .withName(CONFIG_VOLUME)
                    .withMountPath(RuntimeArgs.CONFIG_DIR)
                    .withReadOnly(true)
                    .build(),
                new VolumeMountBuilder()
                    .withName(RUN_VOLUME)
                    .withMountPath(RuntimeArgs.RUN_DIR)
                    .build())
            .build();
    return new PodTemplateSpecBuilder()
        .withNewMetadata()
        .withLabels(Labels.of(run, role.id()))
        .addToAnnotations(Labels.CONFIG_HASH_ANNOTATION, configHash(run, role))
        .endMetadata()
        .withNewSpec()
        .withContainers(container)
        .withVolumes(
            new VolumeBuilder()
                .withName(CONFIG_VOLUME)
                .withNewConfigMap()
                .withName(TrainingConfigMapDependent.name(run))
                .endConfigMap()
                .build(),
            new VolumeBuilder()
                .withName(RUN_VOLUME)
                .withNewPersistentVolumeClaim()
                .withClaimName(RunDataPvcDependent.claimName(run))
                .endPersistentVolumeClaim()
                .build())
        .endSpec();
  }

  /** The user's requests and limits plus {@code nvidia.com/gpu: gpus} when gpus > 0. */
  static ResourceRequirements withGpus(ResourceRequirements resources, Integer gpus) {
    var builder =
        resources == null
            ? new ResourceRequirementsBuilder()
            : new ResourceRequirementsBuilder(resources);
    if (gpus != null && gpus > 0) {
      builder.addToLimits(GPU, new Quantity(String.valueOf(gpus)));
    }
    return builder.build();
  }

  /** Short digest of the role's TOML: changes exactly when that file's content changes. */
  static String configHash(TrainingRun run, Roles role) {
    var toml = TrainingConfigMapDependent.toml(run, role);
    try {
      var digest =
          MessageDigest.getInstance("SHA-256").digest(toml.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest, 0, 8);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every JDK", e);
    }
  }
}
