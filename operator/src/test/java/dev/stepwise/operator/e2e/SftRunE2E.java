package dev.stepwise.operator.e2e;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stepwise.api.Checkpoint;
import dev.stepwise.api.RunPhase;
import dev.stepwise.api.TrainingRun;
import dev.stepwise.cluster.controlplane.AuditLog;
import dev.stepwise.cluster.kubelet.LocalKubelet;
import dev.stepwise.cluster.kubelet.LocalPod;
import dev.stepwise.operator.Fixtures;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * examples/sft-run.yaml on the real control plane: the operator (in its pod, as the chart's
 * ServiceAccount) creates the run's objects, the StatefulSet controller makes the trainer pod, the
 * local kubelet runs it as a real runtime process that writes its checkpoints onto the run's
 * provisioned volume and reports them as Checkpoint resources under the run's own ServiceAccount;
 * deleting the run deletes its objects, its processes and its data (garbage collection, PVC
 * protection and the volume's reclaim policy all acting).
 */
class SftRunE2E {

  private static final Duration TRAINING = Duration.ofSeconds(120);

  @Test
  void sftRunTrainsInAPodCheckpointsOntoItsVolumeAndDeletesCleanly() throws Exception {
    var cluster = RealCluster.get();
    var ns = RealCluster.namespace("e2e-sft");
    var client = cluster.client();
    var kubelet = cluster.kubelet();
    var audit = new AuditLog(cluster.controlPlane().auditLog()).mark();
    var run = Fixtures.example("sft-run.yaml", ns);
    run.getSpec().setMaxSteps(4L);
    run.getSpec().getCkpt().setInterval(2);
    var r = run.getMetadata().getName();
    var pod = r + "-trainer-0";
    var seen = new ArrayList<ProcessHandle>();
    var tr = new E2eRun(client, ns, r, TRAINING, () -> kubelet.logTails(ns, 30));

    client.resource(run).create();
    tr.awaitStatus(
        t -> {
          remember(kubelet.processes(ns).get(pod), seen);
          return t.getStatus().getPhase() == RunPhase.Running;
        },
        "Running");
    var runDir = kubelet.claimDirectory(ns, r + "-data");
    var manifest = runDir.resolve("checkpoints/step_4/manifest.json");
    tr.awaitTrue(
        () -> {
          remember(kubelet.processes(ns).get(pod), seen);
          return Files.exists(manifest);
        },
        "checkpoints/step_4 complete on the claim");

    var json = new ObjectMapper().readTree(manifest.toFile());
    assertEquals(4, json.get("step").asInt(), kubelet.logTail(ns, pod, 30));
    assertTrue(
        Files.exists(manifest.getParent().resolveSibling("step_2").resolve("manifest.json")),
        "the interval checkpoint at step 2\n" + kubelet.logTail(ns, pod, 30));
    assertFalse(seen.isEmpty(), "the trainer ran as a local process");
    var command = kubelet.processes(ns).get(pod).command();
    var jar = command.indexOf("-jar");
    assertTrue(command.get(jar + 1).endsWith("stepwise-runtime.jar"), command.toString());
    assertEquals(
        List.of(
            "sft",
            "@",
            kubelet.podDirectory(ns, pod).resolve("volumes/config/trainer.toml").toString()),
        command.subList(jar + 2, jar + 5));
    assertTrue(String.join(" ", command).contains("--output-dir " + runDir), command.toString());
    assertPodObject(client, ns, r, pod);
    for (var child :
        List.of(
            client.apps().statefulSets().inNamespace(ns).withName(r + "-trainer"),
            client.configMaps().inNamespace(ns).withName(r + "-config"),
            client.persistentVolumeClaims().inNamespace(ns).withName(r + "-data"),
            client.rbac().roleBindings().inNamespace(ns).withName(r + "-runtime"))) {
      var object = (io.fabric8.kubernetes.api.model.HasMetadata) child.get();
      assertTrue(object != null, "child " + child + " exists");
      var owner = object.getMetadata().getOwnerReferences();
      assertEquals(1, owner.size(), object.getKind() + " owners " + owner);
      assertEquals(
          List.of("TrainingRun", r, true),
          List.of(owner.get(0).getKind(), owner.get(0).getName(), owner.get(0).getController()),
          object.getKind() + " is controlled by its run");
    }

    // The runtime reported its checkpoints as the run's own ServiceAccount, not as an admin.
    tr.awaitTrue(() -> tr.checkpoint(4) != null, "Checkpoint " + r + "-step-4");
    var reporter = "system:serviceaccount:" + ns + ":" + r + "-runtime";
    var creates =
        AuditLog.writesBy(audit.take(), reporter::equals).getOrDefault("create checkpoints", 0L);
    assertTrue(creates >= 2, "the reporter created the Checkpoints as " + reporter);
    tr.awaitStatus(t -> t.getStatus().getPhase() == RunPhase.Succeeded, "Succeeded");

    // kubectl delete trainingrun: children, processes and data go.
    client.resources(TrainingRun.class).inNamespace(ns).withName(r).delete();
    await()
        .atMost(TRAINING)
        .untilAsserted(
            () -> {
              assertEquals(
                  List.of(),
                  client.resources(Checkpoint.class).inNamespace(ns).list().getItems(),
                  "Checkpoints");
              assertEquals(
                  List.of(), client.apps().statefulSets().inNamespace(ns).list().getItems());
              assertEquals(
                  List.of(),
                  client
                      .configMaps()
                      .inNamespace(ns)
                      .withLabel("stepwise.dev/training-run", r)
                      .list()
                      .getItems());
              assertEquals(
                  List.of(), client.persistentVolumeClaims().inNamespace(ns).list().getItems());
              assertFalse(Files.exists(runDir), "the run's data directory " + runDir);
            });
    for (var process : seen) {
      assertFalse(process.isAlive(), "process " + process.pid() + " outlived its pod");
    }
  }

  @Test
  void aTrainerThatCannotStartSaysWhyInTheRunsConditions() {
    var cluster = RealCluster.get();
    var ns = RealCluster.namespace("e2e-bad-image");
    var run = Fixtures.example("sft-run.yaml", ns);
    run.getSpec().setImage("registry.example/not-stepwise:1");
    var tr = new E2eRun(cluster.client(), ns, "reverse-text", TRAINING, () -> "");
    cluster.client().resource(run).create();
    var status =
        tr.awaitStatus(
            t ->
                t.getStatus().getConditions().stream()
                    .anyMatch(c -> "PodsFailing".equals(c.getReason())),
            "Ready=False PodsFailing");
    var ready =
        status.getStatus().getConditions().stream()
            .filter(c -> "Ready".equals(c.getType()))
            .findFirst()
            .orElseThrow();
    assertEquals("False", ready.getStatus());
    assertTrue(
        ready.getMessage().startsWith("pods cannot run: pod reverse-text-trainer-0: ErrImagePull:")
            && ready.getMessage().contains("registry.example/not-stepwise:1"),
        ready.getMessage());
    cluster.client().resource(run).delete();
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
    assertEquals(r + "-runtime", object.getSpec().getServiceAccountName());
    var status = object.getStatus().getContainerStatuses().get(0);
    assertEquals("trainer", status.getName());
    assertEquals(LocalKubelet.NODE, object.getSpec().getNodeName());
  }

  private static void remember(LocalPod.Snapshot process, List<ProcessHandle> seen) {
    if (process != null && process.pid() > 0) {
      ProcessHandle.of(process.pid()).filter(h -> !seen.contains(h)).ifPresent(seen::add);
    }
  }
}
