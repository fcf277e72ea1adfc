package dev.stepwise.operator.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.stepwise.api.Checkpoint;
import dev.stepwise.api.CheckpointPhase;
import dev.stepwise.api.CheckpointSpec;
import dev.stepwise.operator.MockApiServer;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.kubernetes.client.KubernetesServer;
import io.quarkus.test.kubernetes.client.KubernetesTestServer;
import io.quarkus.test.kubernetes.client.WithKubernetesTestServer;
import org.junit.jupiter.api.Test;

/**
 * A failed Checkpoint reconcile reports its error on a possibly stale copy of the Checkpoint: the
 * message it writes must leave the phase the runtime reported meanwhile as it is (a whole-status
 * write from the stale copy once turned a Ready checkpoint into one without a phase).
 */
@QuarkusTest
@WithKubernetesTestServer(crud = true, setup = MockApiServer.class)
class CheckpointErrorStatusIT {

  @KubernetesTestServer KubernetesServer server;

  @Test
  void anErrorMessageFromAStaleCopyKeepsTheReportedPhase() {
    // given: a Checkpoint as the operator's cache first saw it (no status), then reported Ready
    KubernetesClient client = server.getClient();
    var checkpoint = new Checkpoint();
    checkpoint.setMetadata(
        new ObjectMetaBuilder().withName("stale-step-5").withNamespace("error-status").build());
    var spec = new CheckpointSpec();
    spec.setTrainingRun("stale");
    spec.setStep(5L);
    checkpoint.setSpec(spec);
    var stale = client.resource(checkpoint).create();
    client
        .resources(Checkpoint.class)
        .inNamespace("error-status")
        .withName("stale-step-5")
        .subresource("status")
        .patch(
            PatchContext.of(PatchType.JSON_MERGE),
            "{\"status\":{\"phase\":\"Ready\",\"timeline\":0,\"completedAt\":\"2026-01-01T00:00:00Z\"}}");

    // when: the error of a reconcile that started from the stale copy is written
    CheckpointReconciler.writeMessage(client, stale, "reconcile failed, retrying: boom");

    // then: the message is there and the phase, timeline and completion time are kept
    var now =
        client
            .resources(Checkpoint.class)
            .inNamespace("error-status")
            .withName("stale-step-5")
            .get();
    assertEquals(CheckpointPhase.Ready, now.getStatus().getPhase());
    assertEquals(0L, now.getStatus().getTimeline());
    assertEquals("2026-01-01T00:00:00Z", now.getStatus().getCompletedAt());
    assertEquals("reconcile failed, retrying: boom", now.getStatus().getMessage());
  }
}
