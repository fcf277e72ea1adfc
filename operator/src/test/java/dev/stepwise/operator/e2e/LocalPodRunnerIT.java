package dev.stepwise.operator.e2e;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaimBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.PodTemplateSpecBuilder;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.apps.StatefulSetBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The runner's controller and kubelet behaviour, against the mock API server with a stand-in for
 * the {@code stepwise} executable (a shell script: sub-second, no libtorch).
 */
@EnableKubernetesMockClient(crud = true)
class LocalPodRunnerIT {

  private static final String NS = "runner";
  private static final Duration TIMEOUT = Duration.ofSeconds(20);

  /**
   * {@code serve ARGS}: records its start and config under the run dir, then sleeps; {@code exit
   * N}: exits with N.
   */
  private static final String FAKE_STEPWISE =
      """
      #!/bin/sh
      echo "fake stepwise $*"
      case "$1" in
        serve)
          echo "$RANK $HOSTNAME" >> "$5/starts"
          cat "$3"
          exec sleep 300 ;;
        exit)
          exit "$2" ;;
      esac
      """;

  KubernetesClient client;

  @TempDir Path work;

  private LocalPodRunner runner;
  private final List<ProcessHandle> seen = new ArrayList<>();

  @BeforeEach
  void startRunner() throws IOException {
    var script = Files.writeString(work.resolve("fake-stepwise.sh"), FAKE_STEPWISE);
    runner =
        LocalPodRunner.builder(client, NS, work.resolve("runner"))
            .stepwiseCommand(List.of("sh", script.toString()))
            .pollInterval(Duration.ofMillis(50))
            .restartBackoff(Duration.ofMillis(100), Duration.ofMillis(400))
            .terminationGrace(Duration.ofSeconds(1))
            .build()
            .start();
    client
        .resource(
            new PersistentVolumeClaimBuilder()
                .withNewMetadata()
                .withName("r-data")
                .withNamespace(NS)
                .endMetadata()
                .build())
        .create();
    client
        .resource(
            new ConfigMapBuilder()
                .withNewMetadata()
                .withName("r-config")
                .withNamespace(NS)
                .endMetadata()
                .withData(Map.of("trainer.toml", "max-steps = 3\n"))
                .build())
        .create();
  }

  @AfterEach
  void closeLeavesNoProcess() {
    runner.processes().values().forEach(this::remember);
    runner.close();
    for (var process : seen) {
      assertFalse(process.isAlive(), "pid " + process.pid() + " outlived close()");
    }
    assertTrue(runner.processes().values().stream().noneMatch(LocalPod.Snapshot::alive));
  }

  @Test
  void statefulSetPodsRunWithTheirVolumesAndReportReady() throws IOException {
    client.resource(statefulSet(2, "serve")).create();

    var sts =
        await()
            .atMost(TIMEOUT)
            .until(
                () -> client.apps().statefulSets().inNamespace(NS).withName("r-trainer").get(),
                s ->
                    s.getStatus() != null
                        && Integer.valueOf(2).equals(s.getStatus().getReadyReplicas()));
    assertEquals(2, sts.getStatus().getReplicas());
    var starts = runner.runDir("r-data").resolve("starts");
    await()
        .atMost(TIMEOUT)
        .until(() -> Files.exists(starts) && Files.readAllLines(starts).size() == 2);
    assertEquals(
        List.of("0 r-trainer-0", "1 r-trainer-1"),
        Files.readAllLines(starts).stream().sorted().toList(),
        "RANK from the pod-index label, one start per pod, both on the shared claim");
    await()
        .atMost(TIMEOUT)
        .untilAsserted(
            () ->
                assertTrue(
                    runner.logTail("r-trainer-1", 5).contains("max-steps = 3"),
                    runner.logTails(5)));

    var pod = pod("r-trainer-0", p -> p.getStatus().getPhase().equals("Running"));
    assertEquals("0", pod.getMetadata().getLabels().get("apps.kubernetes.io/pod-index"));
    assertEquals("trainer", pod.getMetadata().getLabels().get("app.kubernetes.io/component"));
    assertEquals("r-trainer", pod.getMetadata().getOwnerReferences().get(0).getName());
    assertTrue(pod.getStatus().getContainerStatuses().get(0).getReady());
  }

  @Test
  void aKilledProcessRestartsInPlaceAndCountsTheRestart() {
    client.resource(statefulSet(1, "serve")).create();
    var first = awaitAlive("r-trainer-0", -1);

    runner.kill("r-trainer-0");

    var second = awaitAlive("r-trainer-0", first);
    assertNotEquals(first, second);
    var pod = pod("r-trainer-0", p -> containerStatus(p).getRestartCount() == 1);
    assertEquals(137, containerStatus(pod).getLastState().getTerminated().getExitCode());
  }

  @Test
  void aDeletedPodLosesItsProcessAndItsControllerMakesANewOne() {
    client.resource(statefulSet(1, "serve")).create();
    var first = awaitAlive("r-trainer-0", -1);
    var old = ProcessHandle.of(first).orElseThrow();

    client.pods().inNamespace(NS).withName("r-trainer-0").delete();

    awaitAlive("r-trainer-0", first);
    await().atMost(TIMEOUT).until(() -> !old.isAlive());
    assertEquals(0, containerStatus(pod("r-trainer-0", p -> true)).getRestartCount(), "a new pod");
  }

  @Test
  void aContainerThatExitsZeroIsRestartedLikeKubernetesDoes() {
    client.resource(statefulSet(1, "exit", "0")).create();
    var pod = pod("r-trainer-0", p -> containerStatus(p).getRestartCount() >= 2);
    assertEquals(0, containerStatus(pod).getLastState().getTerminated().getExitCode());
    assertTrue(
        runner.logTail("r-trainer-0", 20).contains("start #3"), runner.logTail("r-trainer-0", 20));
  }

  @Test
  void aTemplateChangeReplacesThePodAndScalingToZeroStopsIt() {
    var sts = client.resource(statefulSet(1, "serve")).create();
    var first = awaitAlive("r-trainer-0", -1);

    // Merge patches carry no resourceVersion: the runner writes the StatefulSet's status meanwhile.
    mergePatch(
        sts,
        "{\"spec\":{\"template\":{\"metadata\":{\"annotations\":"
            + "{\"stepwise.dev/config-hash\":\"new\"}}}}}");
    awaitAlive("r-trainer-0", first);
    assertTrue(ProcessHandle.of(first).map(h -> !h.isAlive()).orElse(true));

    mergePatch(sts, "{\"spec\":{\"replicas\":0}}");
    await().atMost(TIMEOUT).until(() -> client.pods().inNamespace(NS).list().getItems().isEmpty());
    await().atMost(TIMEOUT).until(() -> runner.processes().isEmpty());
  }

  @Test
  void aJobRunsOnceToCompletion() {
    client
        .resource(
            new JobBuilder()
                .withNewMetadata()
                .withName("r-cleanup-step-5")
                .withNamespace(NS)
                .endMetadata()
                .withNewSpec()
                .withBackoffLimit(1)
                .withTemplate(template("Never", "exit", "0"))
                .endSpec()
                .build())
        .create();

    var job =
        await()
            .atMost(TIMEOUT)
            .until(
                () -> client.batch().v1().jobs().inNamespace(NS).withName("r-cleanup-step-5").get(),
                j -> Workloads.finished(j));
    assertEquals(1, job.getStatus().getSucceeded());
    assertEquals("Complete", job.getStatus().getConditions().get(0).getType());
    var pods = client.pods().inNamespace(NS).list().getItems();
    assertEquals(1, pods.size(), "one pod, not restarted");
    assertEquals("r-cleanup-step-5", pods.get(0).getMetadata().getLabels().get("job-name"));
    assertEquals("Succeeded", pods.get(0).getStatus().getPhase());
  }

  private long awaitAlive(String name, long notPid) {
    var snapshot =
        await()
            .atMost(TIMEOUT)
            .until(
                () -> runner.processes().get(name),
                s -> s != null && s.alive() && s.pid() != notPid);
    remember(snapshot);
    return snapshot.pid();
  }

  private void remember(LocalPod.Snapshot snapshot) {
    if (snapshot.pid() > 0) {
      ProcessHandle.of(snapshot.pid()).filter(h -> !seen.contains(h)).ifPresent(seen::add);
    }
  }

  private Pod pod(String name, Predicate<Pod> until) {
    return await()
        .atMost(TIMEOUT)
        .until(
            () -> client.pods().inNamespace(NS).withName(name).get(),
            p ->
                p != null
                    && p.getStatus() != null
                    && p.getStatus().getContainerStatuses() != null
                    && !p.getStatus().getContainerStatuses().isEmpty()
                    && until.test(p));
  }

  private static io.fabric8.kubernetes.api.model.ContainerStatus containerStatus(Pod pod) {
    return pod.getStatus().getContainerStatuses().get(0);
  }

  private static StatefulSet statefulSet(int replicas, String... args) {
    return new StatefulSetBuilder()
        .withNewMetadata()
        .withName("r-trainer")
        .withNamespace(NS)
        .endMetadata()
        .withNewSpec()
        .withReplicas(replicas)
        .withServiceName("r-trainer")
        .withNewSelector()
        .withMatchLabels(Map.of("app.kubernetes.io/component", "trainer"))
        .endSelector()
        .withTemplate(template(null, args))
        .endSpec()
        .build();
  }

  /** The contract's pod shape: stepwise with the config and run volumes, RANK from the index. */
  private static PodTemplateSpec template(String restartPolicy, String... args) {
    var allArgs = new ArrayList<>(List.of(args));
    if (args[0].equals("serve")) {
      allArgs.addAll(
          List.of("@", "/etc/stepwise/trainer.toml", "--output-dir", "/var/lib/stepwise/run"));
    }
    return new PodTemplateSpecBuilder()
        .withNewMetadata()
        .withLabels(Map.of("app.kubernetes.io/component", "trainer"))
        .withAnnotations(Map.of("stepwise.dev/config-hash", "old"))
        .endMetadata()
        .withNewSpec()
        .withRestartPolicy(restartPolicy)
        .withContainers(
            new ContainerBuilder()
                .withName("trainer")
                .withImage("ghcr.io/stepwise-dev/stepwise-runtime:0.1.0")
                .withCommand("stepwise")
                .withArgs(allArgs)
                .addNewEnv()
                .withName("RANK")
                .withNewValueFrom()
                .withNewFieldRef()
                .withFieldPath("metadata.labels['apps.kubernetes.io/pod-index']")
                .endFieldRef()
                .endValueFrom()
                .endEnv()
                .addNewVolumeMount()
                .withName("config")
                .withMountPath("/etc/stepwise")
                .endVolumeMount()
                .addNewVolumeMount()
                .withName("run")
                .withMountPath("/var/lib/stepwise/run")
                .endVolumeMount()
                .build())
        .addNewVolume()
        .withName("config")
        .withNewConfigMap()
        .withName("r-config")
        .endConfigMap()
        .endVolume()
        .addNewVolume()
        .withName("run")
        .withNewPersistentVolumeClaim()
        .withClaimName("r-data")
        .endPersistentVolumeClaim()
        .endVolume()
        .endSpec()
        .build();
  }

  private void mergePatch(StatefulSet sts, String patch) {
    client
        .apps()
        .statefulSets()
        .inNamespace(NS)
        .withName(sts.getMetadata().getName())
        .patch(PatchContext.of(PatchType.JSON_MERGE), patch);
  }
}
