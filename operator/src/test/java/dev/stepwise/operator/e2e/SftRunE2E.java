package dev.stepwise.operator.e2e;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stepwise.api.RunPhase;
import dev.stepwise.operator.Fixtures;
import dev.stepwise.operator.MockApiServer;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.kubernetes.client.KubernetesServer;
import io.quarkus.test.kubernetes.client.KubernetesTestServer;
import io.quarkus.test.kubernetes.client.WithKubernetesTestServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * examples/sft-run.yaml, applied to the mock API server with the real operator running, trains in a
 * local pod: the trainer StatefulSet's pod is a real runtime process that writes its checkpoints
 * into the directory standing in for the run's PVC.
 */
@QuarkusTest
@WithKubernetesTestServer(crud = true, setup = MockApiServer.class)
class SftRunE2E {

  private static final Duration TRAINING = Duration.ofSeconds(90);

  @KubernetesTestServer KubernetesServer server;

  @TempDir Path work;

  @Test
  void sftRunTrainsInALocalPodAndCheckpointsOntoTheClaim() throws IOException {
    var ns = "e2e-sft";
    var client = server.getClient();
    var run = Fixtures.example("sft-run.yaml", ns);
    run.getSpec().setMaxSteps(4L);
    run.getSpec().getCkpt().setInterval(2);
    var r = run.getMetadata().getName();
    var pod = r + "-trainer-0";
    var seen = new ArrayList<ProcessHandle>();

    try (var runner = LocalPodRunner.builder(client, ns, work).build().start()) {
      client.resource(run).create();

      // The operator sees the pod through the StatefulSet status the runner reports.
      await()
          .atMost(TRAINING)
          .pollInterval(Duration.ofMillis(50))
          .untilAsserted(
              () -> {
                remember(runner.processes().get(pod), seen);
                var status = client.resource(run).get().getStatus();
                assertEquals(
                    RunPhase.Running,
                    status == null ? null : status.getPhase(),
                    () -> "run phase; pods: " + runner.processes() + "\n" + runner.logTails(30));
              });

      var manifest = runner.runDir(r + "-data").resolve("checkpoints/step_4/manifest.json");
      await()
          .atMost(TRAINING)
          .pollInterval(Duration.ofMillis(50))
          .untilAsserted(
              () -> {
                remember(runner.processes().get(pod), seen);
                assertTrue(
                    Files.exists(manifest),
                    () ->
                        "no "
                            + manifest
                            + " yet; pods: "
                            + runner.processes()
                            + "\n"
                            + runner.logTails(30));
              });

      var json = new ObjectMapper().readTree(manifest.toFile());
      assertEquals(4, json.get("step").asInt(), runner.logTail(pod, 30));
      assertTrue(
          Files.exists(manifest.getParent().resolveSibling("step_2").resolve("manifest.json")),
          "the interval checkpoint at step 2\n" + runner.logTail(pod, 30));
      assertFalse(seen.isEmpty(), "the trainer ran as a local process");
      var command = runner.processes().get(pod).command();
      var jar = command.indexOf("-jar");
      assertTrue(command.get(jar + 1).endsWith("stepwise-runtime.jar"), command.toString());
      assertEquals(
          List.of(
              "sft", "@", work.resolve("pods/" + pod + "/volumes/config/trainer.toml").toString()),
          command.subList(jar + 2, jar + 5));
      assertTrue(
          String.join(" ", command).contains("--output-dir " + runner.runDir(r + "-data")),
          command.toString());

      assertPodObject(client, ns, r, pod);
    }

    for (var process : seen) {
      assertFalse(process.isAlive(), "process " + process.pid() + " outlived close()");
    }
    var workPath = work.toString();
    var leftovers =
        ProcessHandle.allProcesses()
            .filter(p -> p.info().commandLine().map(c -> c.contains(workPath)).orElse(false))
            .map(p -> p.pid() + " " + p.info().commandLine().orElse(""))
            .toList();
    assertEquals(List.of(), leftovers, "processes left behind by close()");
  }

  private static void assertPodObject(KubernetesClient client, String ns, String r, String name) {
    var object = client.pods().inNamespace(ns).withName(name).get();
    var template =
        client
            .apps()
            .statefulSets()
            .inNamespace(ns)
            .withName(r + "-trainer")
            .get()
            .getSpec()
            .getTemplate();
    var labels = object.getMetadata().getLabels();
    assertTrue(
        labels.entrySet().containsAll(template.getMetadata().getLabels().entrySet()),
        "pod labels " + labels + " carry the template's " + template.getMetadata().getLabels());
    assertEquals(r, labels.get("stepwise.dev/training-run"));
    assertEquals("trainer", labels.get("app.kubernetes.io/component"));
    assertEquals("0", labels.get("apps.kubernetes.io/pod-index"));
    var owner = object.getMetadata().getOwnerReferences().get(0);
    assertEquals(
        List.of("StatefulSet", r + "-trainer", true),
        List.of(owner.getKind(), owner.getName(), owner.getController()));
    var status = object.getStatus().getContainerStatuses().get(0);
    assertEquals("trainer", status.getName());
    assertTrue(
        List.of("Running", "Pending").contains(object.getStatus().getPhase()),
        object.getStatus().getPhase());
  }

  private static void remember(LocalPod.Snapshot process, List<ProcessHandle> seen) {
    if (process != null && process.pid() > 0) {
      ProcessHandle.of(process.pid()).filter(h -> !seen.contains(h)).ifPresent(seen::add);
    }
  }
}
