package dev.stepwise.operator;

import static dev.stepwise.operator.Fixtures.awaitPresent;
import static dev.stepwise.operator.Fixtures.awaitRun;
import static dev.stepwise.operator.Fixtures.createCheckpoint;
import static dev.stepwise.operator.Fixtures.example;
import static dev.stepwise.operator.Fixtures.reportCheckpoint;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.api.TrainingRun;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.kubernetes.client.KubernetesServer;
import io.quarkus.test.kubernetes.client.KubernetesTestServer;
import io.quarkus.test.kubernetes.client.WithKubernetesTestServer;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A resume to the step the run already resumed from is repeated when spec.resumeNonce changes. */
@QuarkusTest
@WithKubernetesTestServer(crud = true, setup = MockApiServer.class)
class ResumeAgainIT {

  @KubernetesTestServer KubernetesServer server;

  KubernetesClient client() {
    return server.getClient();
  }

  @Test
  void aNewResumeNonceRepeatsTheResumeToTheSameStepOnANewTimeline() {
    // given: a run resumed from its Ready checkpoint of step 5
    var ns = "resume-again";
    var run = client().resource(example("sft-run.yaml", ns)).create();
    var r = run.getMetadata().getName();
    readyCheckpoint(ns, r, 5);
    patch(ns, r, "{\"spec\":{\"resumeStep\":5}}");
    var first =
        awaitRun(client(), run, s -> Long.valueOf(5).equals(s.getStatus().getResumedFrom()));
    var firstTimeline = first.getStatus().getTimeline();
    awaitTrainerArgs(ns, r, firstTimeline);

    // when: the same step is asked for again, first without a nonce (along with another change,
    // so that the reconcile is observable), then with one
    var generation =
        patch(ns, r, "{\"spec\":{\"resumeStep\":5,\"maxSteps\":30}}").getMetadata().getGeneration();
    var unchanged =
        awaitRun(client(), run, s -> generation.equals(s.getStatus().getObservedGeneration()));
    assertEquals(firstTimeline, unchanged.getStatus().getTimeline(), "same step: not resumed");
    patch(ns, r, "{\"spec\":{\"resumeNonce\":1}}");

    // then: a new timeline from step 5, recorded with its nonce, and the trainer follows it
    var again =
        awaitRun(client(), run, s -> Long.valueOf(1).equals(s.getStatus().getResumeNonce()));
    var secondTimeline = again.getStatus().getTimeline();
    assertNotEquals(firstTimeline, secondTimeline);
    assertEquals(again.getMetadata().getGeneration(), secondTimeline);
    assertEquals(5L, again.getStatus().getResumedFrom());
    var args = awaitTrainerArgs(ns, r, secondTimeline);
    assertEquals("5", args.get(args.indexOf("--ckpt.resume-step") + 1));
    assertTrue(args.contains("--ckpt.recover"));
    var events = client().v1().events().inNamespace(ns).list().getItems();
    assertEquals(
        2,
        events.stream().filter(e -> "ResumeAccepted".equals(e.getReason())).count(),
        "one ResumeAccepted event per accepted resume");
  }

  private void readyCheckpoint(String ns, String run, long step) {
    createCheckpoint(client(), ns, run, step);
    reportCheckpoint(client(), ns, run, step, "Ready", "2026-01-01T00:00:05Z");
  }

  private TrainingRun patch(String ns, String run, String mergePatch) {
    return client()
        .resources(TrainingRun.class)
        .inNamespace(ns)
        .withName(run)
        .patch(PatchContext.of(PatchType.JSON_MERGE), mergePatch);
  }

  /** The trainer's args once they carry {@code --ckpt.timeline timeline}. */
  private List<String> awaitTrainerArgs(String ns, String run, long timeline) {
    awaitPresent(client(), StatefulSet.class, ns, run + "-trainer");
    return await()
        .atMost(Fixtures.TIMEOUT)
        .until(
            () -> {
              var sts = client().apps().statefulSets().inNamespace(ns).withName(run + "-trainer");
              var args =
                  sts.get().getSpec().getTemplate().getSpec().getContainers().get(0).getArgs();
              return args == null ? Collections.<String>emptyList() : args;
            },
            args -> {
              var at = args.indexOf("--ckpt.timeline");
              return at >= 0 && args.get(at + 1).equals(String.valueOf(timeline));
            });
  }
}
