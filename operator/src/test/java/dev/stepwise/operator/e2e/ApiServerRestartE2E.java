package dev.stepwise.operator.e2e;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.api.RunPhase;
import dev.stepwise.operator.Fixtures;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * A fault: the API server stops (SIGTERM; etcd with it) while a run trains, stays down while the
 * trainer completes several checkpoints, and starts again on the same data. Nothing is lost: the
 * trainer keeps training, the operator, the kubelet and the runtime's reporter reconnect by
 * themselves, every checkpoint completed while the API server was down gets its Checkpoint resource
 * afterwards, and the run reaches Succeeded.
 */
class ApiServerRestartE2E {

  private static final String NS = "e2e-apiserver";
  private static final Duration WAIT = Duration.ofMinutes(4);
  private static final int WHILE_DOWN = 4;

  @Test
  void checkpointsCompletedWhileTheApiServerIsDownAreReportedAfterwards() throws Exception {
    var cluster = RealCluster.get();
    RealCluster.namespace(NS);
    var client = cluster.client();
    var run = Fixtures.example("sft-run.yaml", NS);
    run.getMetadata().setName("outage");
    run.getSpec().setMaxSteps(2000L);
    run.getSpec().getCkpt().setInterval(100);
    run.getSpec().getCkpt().setKeep(100); // keep all: every checkpoint must get its resource
    run.getSpec()
        .getTrainer()
        .setConfig(run.getSpec().getTrainer().getConfig().replace("samples = 256", "samples = 0"));
    var tr = new E2eRun(client, NS, "outage", WAIT, () -> cluster.kubelet().logTails(NS, 30));
    client.resource(run).create();
    tr.awaitTrue(() -> !tr.readySteps().isEmpty(), "a first Checkpoint is Ready");
    var runDir = cluster.kubelet().claimDirectory(NS, "outage-data");

    var plane = cluster.controlPlane();
    var down = System.nanoTime();
    plane.stopApiServer();
    var atStop = E2eRun.completeSteps(runDir);
    int whileDown;
    try {
      // The trainer goes on without the API server: checkpoints keep landing on the volume.
      await()
          .atMost(WAIT)
          .pollInterval(Duration.ofMillis(100))
          .until(() -> E2eRun.completeSteps(runDir).size() >= atStop.size() + WHILE_DOWN);
    } finally {
      whileDown = E2eRun.completeSteps(runDir).size() - atStop.size();
      plane.startApiServer();
    }
    var up = System.nanoTime();

    tr.awaitStatus(
        t -> t.getStatus().getPhase() == RunPhase.Succeeded, "Succeeded after the outage");
    tr.awaitTrue(
        () -> {
          var onDisk = E2eRun.completeSteps(runDir);
          return tr.readySteps().equals(onDisk);
        },
        "every complete checkpoint on the volume has a Ready Checkpoint");
    var reported = System.nanoTime();
    var steps = E2eRun.completeSteps(runDir);
    assertEquals(20, steps.size(), "checkpoints 100..2000, none lost: " + steps);
    assertTrue(whileDown >= WHILE_DOWN);
    assertEquals(0, tr.get().getStatus().getRestarts(), "the trainer did not crash");
    System.out.printf(
        "BENCHMARK apiserver-restart-e2e: API server down %.1f s, %d checkpoints completed"
            + " meanwhile; all %d reported %.1f s after it came back, run Succeeded%n",
        (up - down) / 1e9, whileDown, steps.size(), (reported - up) / 1e9);
  }
}
