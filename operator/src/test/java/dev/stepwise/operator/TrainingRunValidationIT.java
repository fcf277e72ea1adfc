package dev.stepwise.operator;

import static dev.stepwise.operator.Fixtures.awaitPresent;
import static dev.stepwise.operator.Fixtures.awaitRun;
import static dev.stepwise.operator.Fixtures.createCheckpoint;
import static dev.stepwise.operator.Fixtures.example;
import static dev.stepwise.operator.Fixtures.reportCheckpoint;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.api.Checkpoint;
import dev.stepwise.api.TrainingRun;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaimBuilder;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.kubernetes.client.KubernetesServer;
import io.quarkus.test.kubernetes.client.KubernetesTestServer;
import io.quarkus.test.kubernetes.client.WithKubernetesTestServer;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Specs the schema cannot reject get a Degraded condition naming the field, and no workloads; a run
 * whose spec.init checkpoint is not Ready yet waits for it.
 */
@QuarkusTest
@WithKubernetesTestServer(crud = true, setup = MockApiServer.class)
class TrainingRunValidationIT {

  @KubernetesTestServer KubernetesServer server;

  KubernetesClient client() {
    return server.getClient();
  }

  static Condition condition(TrainingRun run, String type) {
    return run.getStatus().getConditions().stream()
        .filter(c -> c.getType().equals(type))
        .findFirst()
        .orElseThrow();
  }

  /** Nothing of the run exists in {@code ns}: no half-built run. */
  void assertNothingCreated(String ns) {
    assertEquals(List.of(), client().configMaps().inNamespace(ns).list().getItems());
    assertEquals(List.of(), client().persistentVolumeClaims().inNamespace(ns).list().getItems());
    assertEquals(List.of(), client().services().inNamespace(ns).list().getItems());
    assertEquals(List.of(), client().apps().statefulSets().inNamespace(ns).list().getItems());
    assertEquals(List.of(), client().apps().deployments().inNamespace(ns).list().getItems());
  }

  @Test
  void missingExistingClaimDegradesTheRunUntilTheClaimExists() {
    var ns = "missing-claim";
    var spec = Fixtures.rlRunAlone(ns);
    spec.getSpec().getStorage().setExistingClaim("shared-runs");
    var run = client().resource(spec).create();

    var degraded = awaitRun(client(), run, t -> t.getStatus().getObservedGeneration() != null);
    var condition = condition(degraded, "Degraded");
    assertEquals("True", condition.getStatus());
    assertEquals("ExistingClaimNotFound", condition.getReason());
    assertTrue(
        condition.getMessage().startsWith("spec.storage.existingClaim: PersistentVolumeClaim"),
        condition.getMessage());
    assertTrue(condition.getMessage().contains("\"shared-runs\""), condition.getMessage());
    assertEquals("False", condition(degraded, "Ready").getStatus());
    assertNothingCreated(ns);
    assertTrue(
        client().v1().events().inNamespace(ns).list().getItems().stream()
            .anyMatch(e -> e.getReason().equals("SpecInvalid") && e.getType().equals("Warning")));

    // The claim appears; the next reconcile (the operator rechecks every 30 s; here a spec
    // change brings it forward) builds the run on the user's claim, without one of its own.
    client()
        .resource(
            new PersistentVolumeClaimBuilder()
                .withNewMetadata()
                .withName("shared-runs")
                .withNamespace(ns)
                .endMetadata()
                .build())
        .create();
    client()
        .resources(TrainingRun.class)
        .inNamespace(ns)
        .withName(run.getMetadata().getName())
        .patch(PatchContext.of(PatchType.JSON_MERGE), "{\"spec\":{\"maxSteps\":21}}");
    var sts = awaitPresent(client(), StatefulSet.class, ns, "reverse-text-rl-trainer");
    assertEquals(
        "shared-runs",
        sts.getSpec().getTemplate().getSpec().getVolumes().stream()
            .filter(v -> v.getName().equals("run"))
            .findFirst()
            .orElseThrow()
            .getPersistentVolumeClaim()
            .getClaimName());
    var valid = awaitRun(client(), run, t -> condition(t, "Degraded").getStatus().equals("False"));
    assertEquals("AsExpected", condition(valid, "Degraded").getReason());
    assertEquals(
        List.of("shared-runs"),
        client().persistentVolumeClaims().inNamespace(ns).list().getItems().stream()
            .map(p -> p.getMetadata().getName())
            .toList());
  }

  @Test
  void malformedTomlNamesTheFieldAndLine() {
    var ns = "bad-toml";
    var spec = example("sft-run.yaml", ns);
    spec.getSpec().getTrainer().setConfig("max-steps = 20\n[optim\nlr = 3e-4\n");
    var run = client().resource(spec).create();

    var degraded = awaitRun(client(), run, t -> t.getStatus().getObservedGeneration() != null);
    var condition = condition(degraded, "Degraded");
    assertEquals("True", condition.getStatus());
    assertEquals("InvalidConfig", condition.getReason());
    assertTrue(
        condition.getMessage().startsWith("spec.trainer.config: not valid TOML at line 2"),
        condition.getMessage());
    assertNothingCreated(ns);
  }

  @Test
  void missingMaxStepsIsCaughtEvenWhereTheSchemaWasNotEnforced() {
    var ns = "no-max-steps";
    var spec = example("sft-run.yaml", ns);
    spec.getSpec().setMaxSteps(null);
    var run = client().resource(spec).create();

    var degraded = awaitRun(client(), run, t -> t.getStatus().getObservedGeneration() != null);
    assertEquals("InvalidSpec", condition(degraded, "Degraded").getReason());
    assertTrue(condition(degraded, "Degraded").getMessage().startsWith("spec.maxSteps"));
    assertNothingCreated(ns);
  }

  @Test
  void anRlRunWaitsForItsInitCheckpointThenMountsTheSourceVolume() {
    // given: the SFT run of the examples on an existing claim, with no checkpoint yet
    var ns = "init-source";
    client()
        .persistentVolumeClaims()
        .resource(
            new PersistentVolumeClaimBuilder()
                .withNewMetadata()
                .withName("shared-sft")
                .withNamespace(ns)
                .endMetadata()
                .build())
        .create();
    var sft = example("sft-run.yaml", ns);
    sft.getSpec().getStorage().setExistingClaim("shared-sft");
    client().resource(sft).create();

    // when: the RL run of the examples (spec.init: reverse-text step 600) is applied
    var rl = client().resource(example("rl-run.yaml", ns)).create();

    // then: Degraded, naming spec.init.checkpoint, and nothing of the RL run is created
    var degraded =
        awaitRun(
            client(),
            rl,
            t ->
                t.getStatus().getObservedGeneration() != null
                    && !t.getStatus().getConditions().isEmpty());
    var condition = condition(degraded, "Degraded");
    assertEquals("True", condition.getStatus());
    assertEquals("InitCheckpointNotFound", condition.getReason());
    assertEquals(
        "spec.init.checkpoint: no Ready checkpoint at step 600 of run reverse-text (Checkpoint"
            + " reverse-text-step-600 does not exist); Ready steps: none",
        condition.getMessage());
    assertNoWorkloadOf(ns, "reverse-text-rl");

    // when: the SFT run reports step 500, then 600 still being written: still waiting, and the
    // message follows (a Checkpoint event of the source run reaches the RL run)
    checkpoint(ns, "reverse-text", 500, "Ready");
    checkpoint(ns, "reverse-text", 600, "Pending");
    awaitRun(
        client(),
        rl,
        t ->
            condition(t, "Degraded")
                .getMessage()
                .endsWith("(Checkpoint reverse-text-step-600 is Pending); Ready steps: 500"));
    assertNoWorkloadOf(ns, "reverse-text-rl");

    // when: step 600 is Ready
    checkpoint(ns, "reverse-text", 600, "Ready");

    // then: the trainer mounts the SFT run's claim read-only and starts from its step 600
    var sts = awaitPresent(client(), StatefulSet.class, ns, "reverse-text-rl-trainer");
    var pod = sts.getSpec().getTemplate().getSpec();
    var init =
        pod.getVolumes().stream().filter(v -> v.getName().equals("init")).findFirst().orElseThrow();
    assertEquals("shared-sft", init.getPersistentVolumeClaim().getClaimName());
    var trainer = pod.getContainers().get(0);
    assertTrue(
        trainer.getVolumeMounts().stream()
            .anyMatch(
                m ->
                    m.getName().equals("init")
                        && m.getMountPath().equals("/var/lib/stepwise/init")
                        && Boolean.TRUE.equals(m.getReadOnly())),
        () -> "mounts: " + trainer.getVolumeMounts());
    var args = trainer.getArgs();
    assertEquals(
        "/var/lib/stepwise/init/checkpoints/step_600",
        args.get(args.indexOf("--init.checkpoint") + 1));
    awaitRun(client(), rl, t -> "False".equals(condition(t, "Degraded").getStatus()));

    // when: the source checkpoint is deleted while the RL run starts from it
    client().resources(Checkpoint.class).inNamespace(ns).withName("reverse-text-step-600").delete();

    // then: its data stays (no cleanup Job), and it says why
    var kept =
        await()
            .atMost(Fixtures.TIMEOUT)
            .pollInterval(Duration.ofMillis(20))
            .until(
                () ->
                    client()
                        .resources(Checkpoint.class)
                        .inNamespace(ns)
                        .withName("reverse-text-step-600")
                        .get(),
                c -> c.getStatus().getMessage() != null);
    assertEquals(
        "run reverse-text-rl starts from this checkpoint (spec.init): its data is kept until no"
            + " run does",
        kept.getStatus().getMessage());
    assertEquals(List.of(), client().batch().v1().jobs().inNamespace(ns).list().getItems());
  }

  private void assertNoWorkloadOf(String ns, String run) {
    assertNull(client().apps().statefulSets().inNamespace(ns).withName(run + "-trainer").get());
    assertNull(client().configMaps().inNamespace(ns).withName(run + "-config").get());
    assertEquals(List.of(), client().apps().deployments().inNamespace(ns).list().getItems());
  }

  /** A Checkpoint of {@code run} at {@code step} in {@code phase}, as the runtime reports it. */
  private void checkpoint(String ns, String run, long step, String phase) {
    var name = run + "-step-" + step;
    if (client().resources(Checkpoint.class).inNamespace(ns).withName(name).get() == null) {
      createCheckpoint(client(), ns, run, step);
    }
    reportCheckpoint(
        client(), ns, run, step, phase, "2026-01-01T00:%02d:00Z".formatted(step / 100));
  }
}
