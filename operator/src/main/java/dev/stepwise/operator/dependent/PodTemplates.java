package dev.stepwise.operator.dependent;

import dev.stepwise.api.CkptSpec;
import dev.stepwise.api.TrainingRun;
import dev.stepwise.operator.Labels;
import dev.stepwise.operator.Roles;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.ContainerPortBuilder;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.api.model.PodSecurityContextBuilder;
import io.fabric8.kubernetes.api.model.PodTemplateSpecBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import io.fabric8.kubernetes.api.model.ResourceRequirementsBuilder;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.SecurityContextBuilder;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeBuilder;
import io.fabric8.kubernetes.api.model.VolumeMount;
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
  static final String TMP_VOLUME = "tmp";
  static final String INIT_VOLUME = "init";

  /** The runtime image's non-root user (distroless "nonroot"). */
  static final long RUNTIME_UID = 65532L;

  private PodTemplates() {}

  /**
   * A pod template running {@code stepwise args...} for {@code role}, as the run's ServiceAccount
   * but without its token (only the trainer mounts it); the caller adds env, ports and probes to
   * the returned container. Non-root, no privilege escalation, no capabilities, a read-only root
   * file system with an emptyDir on /tmp (where libtorch's natives are unpacked).
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
            .withSecurityContext(containerSecurity())
            .withVolumeMounts(
                tmpMount(),
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
        .withTerminationGracePeriodSeconds(CkptSpec.stopGracePeriodSeconds(run.getSpec().getCkpt()))
        .withServiceAccountName(RuntimeServiceAccountDependent.name(run))
        .withAutomountServiceAccountToken(false)
        .withSecurityContext(podSecurity())
        .withContainers(container)
        .withVolumes(
            tmpVolume(),
            new VolumeBuilder()
                .withName(CONFIG_VOLUME)
                .withNewConfigMap()
                .withName(TrainingConfigMapDependent.name(run))
                .endConfigMap()
                .build(),
            runVolume(run))
        .endSpec();
  }

  /** The Prometheus port of trainer and orchestrator, named for the chart's PodMonitor. */
  static ContainerPort metricsPort() {
    return new ContainerPortBuilder()
        .withName(RuntimeArgs.METRICS_PORT_NAME)
        .withContainerPort(RuntimeArgs.METRICS_PORT)
        .build();
  }

  /** Non-root (the image's uid 65532, which also owns the run volume), seccomp RuntimeDefault. */
  static PodSecurityContext podSecurity() {
    return new PodSecurityContextBuilder()
        .withRunAsNonRoot(true)
        .withRunAsUser(RUNTIME_UID)
        .withRunAsGroup(RUNTIME_UID)
        .withFsGroup(RUNTIME_UID)
        .withNewSeccompProfile()
        .withType("RuntimeDefault")
        .endSeccompProfile()
        .build();
  }

  /** No privilege escalation, no capabilities, a read-only root file system. */
  static SecurityContext containerSecurity() {
    return new SecurityContextBuilder()
        .withAllowPrivilegeEscalation(false)
        .withReadOnlyRootFilesystem(true)
        .withNewCapabilities()
        .withDrop("ALL")
        .endCapabilities()
        .build();
  }

  /** The writable /tmp of a read-only container (the JVM and libtorch's natives need one). */
  static Volume tmpVolume() {
    return new VolumeBuilder().withName(TMP_VOLUME).withNewEmptyDir().endEmptyDir().build();
  }

  static VolumeMount tmpMount() {
    return new VolumeMountBuilder().withName(TMP_VOLUME).withMountPath("/tmp").build();
  }

  /** The run directory volume: the run's claim. */
  static Volume runVolume(TrainingRun run) {
    return new VolumeBuilder()
        .withName(RUN_VOLUME)
        .withNewPersistentVolumeClaim()
        .withClaimName(RunDataPvcDependent.claimName(run))
        .endPersistentVolumeClaim()
        .build();
  }

  /** The volume of the run spec.init starts from: its claim, mounted read-only. */
  static Volume initVolume(String claim) {
    return new VolumeBuilder()
        .withName(INIT_VOLUME)
        .withNewPersistentVolumeClaim()
        .withClaimName(claim)
        .endPersistentVolumeClaim()
        .build();
  }

  static VolumeMount initMount() {
    return new VolumeMountBuilder()
        .withName(INIT_VOLUME)
        .withMountPath(RuntimeArgs.INIT_DIR)
        .withReadOnly(true)
        .build();
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
