package dev.stepwise.cluster.kubelet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.EnvVarBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** A pod template's container becomes a local command line and environment. */
class ContainerLaunchTest {

  private static final LocalImages STEPWISE =
      new LocalImages(
          List.of("java", "-jar", "stepwise-runtime.jar"),
          List.of("java", "-jar", "quarkus-run.jar"));
  private static final Path CONFIG = Path.of("/tmp/e2e/pods/r-trainer-1/volumes/config");
  private static final Path RUN = Path.of("/tmp/e2e/volumes/r-data");

  private final AtomicInteger nextPort = new AtomicInteger(41000);
  private final LocalNetwork network =
      new LocalNetwork(
          "ns",
          (service, port) ->
              Optional.of(new LocalNetwork.Endpoint("deployment/" + service + "/0", port)),
          nextPort::getAndIncrement);

  private final ContainerLaunch.Pod pod =
      new ContainerLaunch.Pod(
          "r-trainer-1",
          "ns",
          "uid-1",
          "r-trainer-1",
          Map.of("apps.kubernetes.io/pod-index", "1", "stepwise.dev/training-run", "r"),
          Map.of("stepwise.dev/config-hash", "abc"),
          "r-runtime");

  private final ContainerLaunch.KeyRefs refs =
      new ContainerLaunch.KeyRefs() {
        @Override
        public Optional<Map<String, String>> configMap(String name) {
          return name.equals("settings") ? Optional.of(Map.of("mode", "fast")) : Optional.empty();
        }

        @Override
        public Optional<Map<String, String>> secret(String name) {
          return Optional.empty();
        }
      };

  private static ContainerBuilder trainer() {
    return new ContainerBuilder()
        .withName("trainer")
        .withImage("ghcr.io/stepwise-dev/stepwise-runtime:0.1.0")
        .withCommand("stepwise")
        .withArgs(
            "sft",
            "@",
            "/etc/stepwise/trainer.toml",
            "--output-dir",
            "/var/lib/stepwise/run",
            "--max-steps",
            "4")
        .addNewVolumeMount()
        .withName("config")
        .withMountPath("/etc/stepwise")
        .endVolumeMount()
        .addNewVolumeMount()
        .withName("run")
        .withMountPath("/var/lib/stepwise/run/")
        .endVolumeMount();
  }

  private ContainerLaunch plan(Container container) {
    return ContainerLaunch.plan(
        pod,
        container,
        Map.of("config", CONFIG, "run", RUN),
        network,
        refs,
        Map.of("OMP_NUM_THREADS", "1", "PATH", "/usr/bin"),
        STEPWISE);
  }

  @Test
  void stepwiseBecomesTheRuntimeCommandAndMountPathsTheLocalDirectories() {
    var launch = plan(trainer().build());
    assertEquals(
        List.of(
            "java",
            "-jar",
            "stepwise-runtime.jar",
            "sft",
            "@",
            CONFIG + "/trainer.toml",
            "--output-dir",
            RUN.toString(),
            "--max-steps",
            "4"),
        launch.command());
  }

  @Test
  void mountPathsAreReplacedOnlyAtPathBoundaries() {
    var mounts =
        new ContainerLaunch.Mounts(
            new ContainerBuilder()
                .withName("c")
                .addNewVolumeMount()
                .withName("run")
                .withMountPath("/var/lib/stepwise/run")
                .endVolumeMount()
                .addNewVolumeMount()
                .withName("ckpt")
                .withMountPath("/var/lib/stepwise/run/checkpoints")
                .withSubPath("sub")
                .endVolumeMount()
                .build(),
            Map.of("run", RUN, "ckpt", Path.of("/tmp/e2e/ckpt")));
    assertEquals("--output-dir=" + RUN, mounts.rewrite("--output-dir=/var/lib/stepwise/run"));
    assertEquals(
        "/tmp/e2e/ckpt/sub/step_5", mounts.rewrite("/var/lib/stepwise/run/checkpoints/step_5"));
    assertEquals(RUN + "/weights", mounts.rewrite("/var/lib/stepwise/run/weights"));
    assertEquals("/var/lib/stepwise/running", mounts.rewrite("/var/lib/stepwise/running"));
    assertEquals("/x/var/lib/stepwise/run", mounts.rewrite("/x/var/lib/stepwise/run"));
    assertEquals(
        RUN + ":" + RUN + "/a", mounts.rewrite("/var/lib/stepwise/run:/var/lib/stepwise/run/a"));
  }

  @Test
  void downwardApiEnvIsResolvedForThisPod() {
    var container =
        trainer()
            .withEnv(
                fieldRef("RANK", "metadata.labels['apps.kubernetes.io/pod-index']"),
                fieldRef("STEPWISE_NAMESPACE", "metadata.namespace"),
                fieldRef("POD_NAME", "metadata.name"),
                fieldRef("POD_UID", "metadata.uid"),
                fieldRef("HASH", "metadata.annotations['stepwise.dev/config-hash']"),
                fieldRef("MISSING", "metadata.labels['nope']"),
                fieldRef("IP", "status.podIP"),
                new EnvVarBuilder()
                    .withName("WHO")
                    .withValue("$(POD_NAME)@$(STEPWISE_NAMESPACE)")
                    .build(),
                new EnvVarBuilder()
                    .withName("LITERAL")
                    .withValue("$$(POD_NAME) $(UNDEFINED)")
                    .build(),
                new EnvVarBuilder()
                    .withName("MODE")
                    .withNewValueFrom()
                    .withNewConfigMapKeyRef("mode", "settings", false)
                    .endValueFrom()
                    .build(),
                new EnvVarBuilder()
                    .withName("CPUS")
                    .withNewValueFrom()
                    .withNewResourceFieldRef()
                    .withResource("limits.cpu")
                    .endResourceFieldRef()
                    .endValueFrom()
                    .build(),
                new EnvVarBuilder().withName("OMP_NUM_THREADS").withValue("2").build())
            .withNewResources()
            .addToLimits("cpu", new Quantity("1500m"))
            .endResources()
            .build();
    var env = plan(container).env();
    assertEquals("1", env.get("RANK"));
    assertEquals("ns", env.get("STEPWISE_NAMESPACE"));
    assertEquals("r-trainer-1", env.get("POD_NAME"));
    assertEquals("uid-1", env.get("POD_UID"));
    assertEquals("abc", env.get("HASH"));
    assertEquals("", env.get("MISSING"));
    assertEquals("127.0.0.1", env.get("IP"));
    assertEquals("r-trainer-1@ns", env.get("WHO"));
    assertEquals("$(POD_NAME) $(UNDEFINED)", env.get("LITERAL"));
    assertEquals("fast", env.get("MODE"));
    assertEquals("2", env.get("CPUS"), "1500m rounds up to 2 cores");
    assertEquals("2", env.get("OMP_NUM_THREADS"), "the container's env wins over the base");
    assertEquals("/usr/bin", env.get("PATH"));
  }

  @Test
  void torchrunAddressAndPortLeadToRankZerosLocalPort() {
    var container =
        trainer()
            .withEnv(
                new EnvVarBuilder()
                    .withName("MASTER_ADDR")
                    .withValue("r-trainer-0.r-trainer.ns.svc.cluster.local")
                    .build(),
                new EnvVarBuilder().withName("MASTER_PORT").withValue("29500").build())
            .build();
    var env = plan(container).env();
    assertEquals("127.0.0.1", env.get("MASTER_ADDR"));
    assertEquals(String.valueOf(network.localPort("r-trainer-0", 29500)), env.get("MASTER_PORT"));
  }

  @Test
  void serverPortAndServiceUrlsBecomeLocalPorts() {
    var server =
        new ContainerBuilder()
            .withName("inference")
            .withImage("ghcr.io/stepwise-dev/stepwise-runtime:0.1.0")
            .withCommand("stepwise")
            .withArgs("inference", "--server.port", "8000")
            .build();
    var inference =
        ContainerLaunch.plan(
            new ContainerLaunch.Pod(
                "r-inference-x", "ns", "u", "deployment/r-inference/0", Map.of(), Map.of(), null),
            server,
            Map.of(),
            network,
            refs,
            Map.of(),
            STEPWISE);
    var port = inference.command().get(inference.command().size() - 1);
    var client =
        plan(
            trainer()
                .withArgs("orchestrator", "--client.base-url", "http://r-inference.ns.svc:8000")
                .build());
    assertEquals("http://127.0.0.1:" + port, client.command().get(client.command().size() - 1));
  }

  @Test
  void everyPortFlagBecomesThePodsOwnLocalPort() {
    var first = plan(trainer().withArgs("sft", "--metrics.port", "9400").build());
    var second =
        ContainerLaunch.plan(
            new ContainerLaunch.Pod(
                "other-trainer-0", "ns", "u", "statefulset/other/0", Map.of(), Map.of(), null),
            trainer().withArgs("sft", "--metrics.port=9400").build(),
            Map.of("config", CONFIG, "run", RUN),
            network,
            refs,
            Map.of(),
            STEPWISE);
    var firstPort = first.command().get(first.command().size() - 1);
    var secondArg = second.command().get(second.command().size() - 1);
    assertNotEquals("9400", firstPort, "two trainer pods must not both bind 9400 on this host");
    assertTrue(secondArg.startsWith("--metrics.port="), secondArg);
    assertNotEquals("--metrics.port=" + firstPort, secondArg, "each pod has its own port");
  }

  @Test
  void onlyKnownImagesRunAndMissingReferencesSayWhat() {
    var shell = trainer().withCommand("sh", "-c", "rm -rf /").build();
    var refused = assertThrows(ContainerLaunch.LaunchException.class, () -> plan(shell));
    assertTrue(refused.getMessage().contains("has no local stand-in"), refused.getMessage());
    assertEquals("ErrImagePull", refused.reason);

    var missing =
        trainer()
            .withEnv(
                new EnvVarBuilder()
                    .withName("TOKEN")
                    .withNewValueFrom()
                    .withNewSecretKeyRef("token", "absent", false)
                    .endValueFrom()
                    .build())
            .build();
    var error = assertThrows(ContainerLaunch.LaunchException.class, () -> plan(missing));
    assertEquals("env TOKEN: key token of Secret absent not found", error.getMessage());
  }

  private static io.fabric8.kubernetes.api.model.EnvVar fieldRef(String name, String path) {
    return new EnvVarBuilder()
        .withName(name)
        .withNewValueFrom()
        .withNewFieldRef()
        .withFieldPath(path)
        .endFieldRef()
        .endValueFrom()
        .build();
  }
}
