package dev.stepwise.operator.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.api.Checkpoint;
import dev.stepwise.api.CheckpointSpec;
import dev.stepwise.api.TrainingRun;
import dev.stepwise.operator.Fixtures;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every CEL rule of both CRDs, executed by the real API server: for each, an object (or change) the
 * rule accepts and one it rejects, with the message a user sees. Creations are server-side dry
 * runs, so the operator has nothing to act on; changes are dry-run patches of a suspended run.
 */
class CrdRulesE2E {

  private static final String NS = "e2e-cel";
  private static KubernetesClient client;

  @BeforeAll
  static void cluster() {
    client = RealCluster.get().client();
    RealCluster.namespace(NS);
  }

  private static TrainingRun sft() {
    var run = Fixtures.example("sft-run.yaml", NS);
    run.getSpec().setSuspend(true);
    return run;
  }

  private static TrainingRun rl() {
    var run = Fixtures.rlRunAlone(NS);
    run.getMetadata().setName("rl-run");
    run.getSpec().setSuspend(true);
    return run;
  }

  private static void accepted(TrainingRun run) {
    client.resource(run).dryRun().create();
  }

  private static void rejected(TrainingRun run, String message) {
    var error =
        assertThrows(KubernetesClientException.class, () -> client.resource(run).dryRun().create());
    assertEquals(422, error.getCode(), error.getMessage());
    assertTrue(error.getMessage().contains(message), error.getMessage());
  }

  /** A dry-run merge patch of {@code name}'s spec; returns the error or null when accepted. */
  private static KubernetesClientException patch(
      Class<? extends HasMetadata> type, String name, String json) {
    try {
      client
          .resources(type)
          .inNamespace(NS)
          .withName(name)
          .dryRun()
          .patch(PatchContext.of(PatchType.JSON_MERGE), json);
      return null;
    } catch (KubernetesClientException e) {
      return e;
    }
  }

  private static void rejectedPatch(
      Class<? extends HasMetadata> type, String name, String json, String message) {
    var error = patch(type, name, json);
    assertTrue(error != null, "patch " + json + " was accepted");
    assertEquals(422, error.getCode(), error.getMessage());
    assertTrue(error.getMessage().contains(message), error.getMessage());
  }

  @Test
  void orchestratorAndInferenceOnlyForRl() {
    accepted(rl());
    var sft = sft();
    sft.getSpec().setOrchestrator(rl().getSpec().getOrchestrator());
    rejected(sft, "orchestrator and inference are only used by rl runs");
  }

  @Test
  void resumeStepBelowMaxSteps() {
    var ok = sft();
    ok.getSpec().setResumeStep(599L);
    accepted(ok);
    var bad = sft();
    bad.getSpec().setResumeStep(600L);
    rejected(bad, "resumeStep must be below maxSteps");
  }

  @Test
  void resumeNonceNeedsResumeStep() {
    var ok = sft();
    ok.getSpec().setResumeStep(100L);
    ok.getSpec().setResumeNonce(1L);
    accepted(ok);
    var bad = sft();
    bad.getSpec().setResumeNonce(1L);
    rejected(bad, "resumeNonce repeats the resume to resumeStep: set resumeStep too");
  }

  @Test
  void typeStorageAndInitCannotChangeButOtherFieldsCan() {
    var run = sft();
    run.getMetadata().setName("immutable");
    client.resource(run).create();
    try {
      assertEquals(null, patch(TrainingRun.class, "immutable", "{\"spec\":{\"maxSteps\":700}}"));
      rejectedPatch(
          TrainingRun.class,
          "immutable",
          "{\"spec\":{\"type\":\"rl\"}}",
          "type cannot change after creation");
      rejectedPatch(
          TrainingRun.class,
          "immutable",
          "{\"spec\":{\"storage\":{\"size\":\"2Gi\"}}}",
          "storage cannot change after creation");
      rejectedPatch(
          TrainingRun.class,
          "immutable",
          "{\"spec\":{\"init\":{\"checkpoint\":{\"trainingRun\":\"other\",\"step\":1}}}}",
          "init cannot be added, changed or removed after creation");
    } finally {
      client.resource(run).delete();
    }
  }

  @Test
  void aCheckpointKeepsItsIdentity() {
    var checkpoint = new Checkpoint();
    checkpoint.getMetadata().setName("identity");
    checkpoint.getMetadata().setNamespace(NS);
    var spec = new CheckpointSpec();
    spec.setTrainingRun("somewhere");
    spec.setStep(10L);
    checkpoint.setSpec(spec);
    // Left in place: deleting it would start a cleanup for a run that does not exist.
    client.resource(checkpoint).create();
    assertEquals(null, patch(Checkpoint.class, "identity", "{\"spec\":{\"retain\":true}}"));
    rejectedPatch(
        Checkpoint.class,
        "identity",
        "{\"spec\":{\"step\":11}}",
        "trainingRun and step identify the checkpoint and cannot change");
  }
}
