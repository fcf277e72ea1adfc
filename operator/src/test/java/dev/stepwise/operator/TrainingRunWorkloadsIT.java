package dev.stepwise.operator;

import static dev.stepwise.operator.Fixtures.awaitPresent;
import static dev.stepwise.operator.Fixtures.awaitRun;
import static dev.stepwise.operator.Fixtures.example;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.api.RunPhase;
import dev.stepwise.api.TrainingRun;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.kubernetes.client.KubernetesServer;
import io.quarkus.test.kubernetes.client.KubernetesTestServer;
import io.quarkus.test.kubernetes.client.WithKubernetesTestServer;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** A TrainingRun becomes its workloads, and spec changes reach them. */
@QuarkusTest
@WithKubernetesTestServer(crud = true, setup = MockApiServer.class)
class TrainingRunWorkloadsIT {

  @KubernetesTestServer KubernetesServer server;

  KubernetesClient client() {
    return server.getClient();
  }

  @Test
  void rlRunGetsEveryChildWithTheContractedShape() {
    var ns = "rl-children";
    var run = client().resource(Fixtures.rlRunAlone(ns)).create();
    var r = "reverse-text-rl";

    var config = awaitPresent(client(), ConfigMap.class, ns, r + "-config");
    assertEquals(
        List.of("inference.toml", "orchestrator.toml", "trainer.toml"),
        config.getData().keySet().stream().sorted().toList());
    assertEquals(run.getSpec().getTrainer().getConfig(), config.getData().get("trainer.toml"));

    var pvc = awaitPresent(client(), PersistentVolumeClaim.class, ns, r + "-data");
    assertEquals(new Quantity("2Gi"), pvc.getSpec().getResources().getRequests().get("storage"));
    assertEquals(List.of("ReadWriteOnce"), pvc.getSpec().getAccessModes());

    var sts = awaitPresent(client(), StatefulSet.class, ns, r + "-trainer");
    assertEquals(1, sts.getSpec().getReplicas());
    assertEquals("Parallel", sts.getSpec().getPodManagementPolicy());
    assertEquals(r + "-trainer", sts.getSpec().getServiceName());
    var trainer = sts.getSpec().getTemplate().getSpec().getContainers().get(0);
    assertEquals(List.of("stepwise"), trainer.getCommand());
    assertEquals(
        List.of(
            "trainer",
            "@",
            "/etc/stepwise/trainer.toml",
            "--output-dir",
            "/var/lib/stepwise/run",
            "--log.format",
            "json",
            "--max-steps",
            "20",
            "--ckpt.stop-deadline",
            "50",
            "--ckpt.interval",
            "5",
            "--ckpt.save-async",
            "--ckpt.retention",
            "external",
            "--ckpt.timeline",
            "0",
            "--ckpt.recover",
            "--metrics.port",
            "9400",
            "--progress.interval",
            "30"),
        trainer.getArgs());
    var env = trainer.getEnv().stream().collect(Collectors.toMap(EnvVar::getName, e -> e));
    assertEquals(
        "metadata.labels['apps.kubernetes.io/pod-index']",
        env.get("RANK").getValueFrom().getFieldRef().getFieldPath());
    assertEquals("1", env.get("WORLD_SIZE").getValue());
    assertEquals(
        r + "-trainer-0." + r + "-trainer." + ns + ".svc.cluster.local",
        env.get("MASTER_ADDR").getValue());
    assertEquals("29500", env.get("MASTER_PORT").getValue());
    assertEquals(new Quantity("1"), trainer.getResources().getLimits().get("nvidia.com/gpu"));
    assertEquals(
        Map.of("config", "/etc/stepwise", "run", "/var/lib/stepwise/run", "tmp", "/tmp"),
        trainer.getVolumeMounts().stream()
            .collect(Collectors.toMap(m -> m.getName(), m -> m.getMountPath())));
    var volumes =
        sts.getSpec().getTemplate().getSpec().getVolumes().stream()
            .collect(Collectors.toMap(v -> v.getName(), v -> v));
    assertEquals(r + "-config", volumes.get("config").getConfigMap().getName());
    assertEquals(r + "-data", volumes.get("run").getPersistentVolumeClaim().getClaimName());
    assertTrue(volumes.get("tmp").getEmptyDir() != null, "a writable /tmp");
    assertEquals(r, env.get("STEPWISE_TRAINING_RUN").getValue());
    assertEquals(run.getMetadata().getUid(), env.get("STEPWISE_RUN_UID").getValue());
    assertEquals(
        "metadata.namespace",
        env.get("STEPWISE_NAMESPACE").getValueFrom().getFieldRef().getFieldPath());
    var trainerPod = sts.getSpec().getTemplate().getSpec();
    assertEquals(r + "-runtime", trainerPod.getServiceAccountName());
    assertEquals(true, trainerPod.getAutomountServiceAccountToken(), "the reporter's token");
    assertEquals(true, trainerPod.getSecurityContext().getRunAsNonRoot());
    assertEquals(65532L, trainerPod.getSecurityContext().getRunAsUser());
    assertEquals("RuntimeDefault", trainerPod.getSecurityContext().getSeccompProfile().getType());
    assertEquals(false, trainer.getSecurityContext().getAllowPrivilegeEscalation());
    assertEquals(true, trainer.getSecurityContext().getReadOnlyRootFilesystem());
    assertEquals(List.of("ALL"), trainer.getSecurityContext().getCapabilities().getDrop());

    var role = awaitPresent(client(), Role.class, ns, r + "-runtime");
    assertEquals(
        List.of(
            "checkpoints:get,list,create,update,patch",
            "checkpoints/status:get,update,patch",
            "trainingruns/status:patch"),
        role.getRules().stream()
            .map(
                rule ->
                    String.join(",", rule.getResources()) + ":" + String.join(",", rule.getVerbs()))
            .toList(),
        "the runtime may report checkpoints and its own progress, and do nothing else");
    var binding = awaitPresent(client(), RoleBinding.class, ns, r + "-runtime");
    assertEquals(r + "-runtime", binding.getSubjects().get(0).getName());
    assertEquals(
        false,
        awaitPresent(client(), ServiceAccount.class, ns, r + "-runtime")
            .getAutomountServiceAccountToken());

    var headless = awaitPresent(client(), Service.class, ns, r + "-trainer");
    assertEquals("None", headless.getSpec().getClusterIP());

    var orchestrator = awaitPresent(client(), Deployment.class, ns, r + "-orchestrator");
    var orchestratorArgs =
        orchestrator.getSpec().getTemplate().getSpec().getContainers().get(0).getArgs();
    assertEquals(
        List.of("orchestrator", "@", "/etc/stepwise/orchestrator.toml"),
        orchestratorArgs.subList(0, 3));
    assertEquals(
        List.of("--client.base-url", "http://" + r + "-inference." + ns + ".svc:8000"),
        orchestratorArgs.subList(orchestratorArgs.size() - 2, orchestratorArgs.size()));
    assertTrue(orchestratorArgs.containsAll(List.of("--max-steps", "20", "--ckpt.interval", "5")));
    assertEquals(
        false, orchestrator.getSpec().getTemplate().getSpec().getAutomountServiceAccountToken());

    var inference = awaitPresent(client(), Deployment.class, ns, r + "-inference");
    var inferenceContainer = inference.getSpec().getTemplate().getSpec().getContainers().get(0);
    assertEquals(
        List.of(
            "inference",
            "@",
            "/etc/stepwise/inference.toml",
            "--output-dir",
            "/var/lib/stepwise/run",
            "--log.format",
            "json",
            "--server.port",
            "8000"),
        inferenceContainer.getArgs());
    assertEquals(
        new Quantity("1"), inferenceContainer.getResources().getLimits().get("nvidia.com/gpu"));
    assertEquals(
        false, inference.getSpec().getTemplate().getSpec().getAutomountServiceAccountToken());
    var inferenceService = awaitPresent(client(), Service.class, ns, r + "-inference");
    assertEquals(8000, inferenceService.getSpec().getPorts().get(0).getPort());

    for (HasMetadata child :
        List.of(config, pvc, sts, headless, orchestrator, inference, inferenceService)) {
      var owner = child.getMetadata().getOwnerReferences();
      assertEquals(1, owner.size(), child.getMetadata().getName());
      assertEquals(run.getMetadata().getUid(), owner.get(0).getUid());
      assertEquals("TrainingRun", owner.get(0).getKind());
      var labels = child.getMetadata().getLabels();
      assertEquals(r, labels.get("stepwise.dev/training-run"), child.getMetadata().getName());
      assertEquals(r, labels.get("app.kubernetes.io/instance"));
      assertEquals("stepwise-operator", labels.get("app.kubernetes.io/managed-by"));
    }

    var status = awaitRun(client(), run, t -> t.getStatus().getObservedGeneration() != null);
    assertEquals(RunPhase.Pending, status.getStatus().getPhase());
  }

  @Test
  void sftRunGetsNoOrchestratorOrInference() {
    var ns = "sft-children";
    var run = client().resource(example("sft-run.yaml", ns)).create();
    var sts = awaitPresent(client(), StatefulSet.class, ns, "reverse-text-trainer");
    var trainer = sts.getSpec().getTemplate().getSpec().getContainers().get(0);
    assertEquals("sft", trainer.getArgs().get(0));
    assertNull(trainer.getResources().getLimits().get("nvidia.com/gpu"), "gpus: 0 asks for none");
    awaitRun(client(), run, t -> t.getStatus().getObservedGeneration() != null);
    assertEquals(List.of(), client().apps().deployments().inNamespace(ns).list().getItems());
    assertEquals(
        List.of("reverse-text-trainer"),
        client().services().inNamespace(ns).list().getItems().stream()
            .map(s -> s.getMetadata().getName())
            .toList());
    assertEquals(
        List.of("trainer.toml"),
        List.copyOf(
            client()
                .configMaps()
                .inNamespace(ns)
                .withName("reverse-text-config")
                .get()
                .getData()
                .keySet()));
  }

  @Test
  void specChangesReachTheWorkloadsAndSuspendScalesToZero() {
    var ns = "rl-updates";
    var run = client().resource(Fixtures.rlRunAlone(ns)).create();
    var r = run.getMetadata().getName();
    awaitPresent(client(), Deployment.class, ns, r + "-inference");

    // As kubectl patch --type merge does: no resourceVersion, so a concurrent status write of
    // the operator cannot make it fail with a conflict.
    client()
        .resources(TrainingRun.class)
        .inNamespace(ns)
        .withName(r)
        .patch(
            PatchContext.of(PatchType.JSON_MERGE),
            "{\"spec\":{\"maxSteps\":30,\"ckpt\":{\"interval\":3},\"trainer\":{\"replicas\":2}}}");
    var sts =
        await()
            .atMost(Fixtures.TIMEOUT)
            .until(
                () -> client().apps().statefulSets().inNamespace(ns).withName(r + "-trainer").get(),
                s -> s.getSpec().getReplicas() == 2);
    var trainer = sts.getSpec().getTemplate().getSpec().getContainers().get(0);
    assertTrue(trainer.getArgs().containsAll(List.of("--max-steps", "30", "--ckpt.interval", "3")));
    assertTrue(
        trainer.getEnv().stream()
            .anyMatch(e -> e.getName().equals("WORLD_SIZE") && e.getValue().equals("2")));
    var orchestratorArgs =
        await()
            .atMost(Fixtures.TIMEOUT)
            .until(
                () ->
                    client()
                        .apps()
                        .deployments()
                        .inNamespace(ns)
                        .withName(r + "-orchestrator")
                        .get()
                        .getSpec()
                        .getTemplate()
                        .getSpec()
                        .getContainers()
                        .get(0)
                        .getArgs(),
                args -> args.contains("30"));
    assertTrue(orchestratorArgs.containsAll(List.of("--ckpt.interval", "3")));

    client()
        .resources(TrainingRun.class)
        .inNamespace(ns)
        .withName(r)
        .patch(PatchContext.of(PatchType.JSON_MERGE), "{\"spec\":{\"suspend\":true}}");
    await()
        .atMost(Fixtures.TIMEOUT)
        .until(
            () ->
                List.of(
                    client()
                        .apps()
                        .statefulSets()
                        .inNamespace(ns)
                        .withName(r + "-trainer")
                        .get()
                        .getSpec()
                        .getReplicas(),
                    client()
                        .apps()
                        .deployments()
                        .inNamespace(ns)
                        .withName(r + "-orchestrator")
                        .get()
                        .getSpec()
                        .getReplicas(),
                    client()
                        .apps()
                        .deployments()
                        .inNamespace(ns)
                        .withName(r + "-inference")
                        .get()
                        .getSpec()
                        .getReplicas()),
            replicas -> replicas.equals(List.of(0, 0, 0)));
    assertNotNull(client().persistentVolumeClaims().inNamespace(ns).withName(r + "-data").get());
    var suspended = awaitRun(client(), run, t -> t.getStatus().getPhase() == RunPhase.Suspended);
    assertEquals(
        "Suspended",
        suspended.getStatus().getConditions().stream()
            .filter(c -> c.getType().equals("Ready"))
            .findFirst()
            .orElseThrow()
            .getReason());
  }
}
