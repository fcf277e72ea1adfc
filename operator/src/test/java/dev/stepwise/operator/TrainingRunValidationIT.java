package dev.stepwise.operator;

import static dev.stepwise.operator.Fixtures.awaitPresent;
import static dev.stepwise.operator.Fixtures.awaitRun;
import static dev.stepwise.operator.Fixtures.example;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import java.util.List;
import org.junit.jupiter.api.Test;

/** Specs the schema cannot reject get a Degraded condition naming the field, and no workloads. */
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
    var spec = example("rl-run.yaml", ns);
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
}
