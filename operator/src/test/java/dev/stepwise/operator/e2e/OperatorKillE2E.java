package dev.stepwise.operator.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.api.RunPhase;
import dev.stepwise.cluster.LocalCluster;
import dev.stepwise.operator.Fixtures;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * A fault: the operator's process is SIGKILLed at random moments (seeded: {@code
 * -Dstepwise.fault.seed} replays a run, {@code -Dstepwise.fault.kills} sets how many) while three
 * runs train, checkpoint, enforce retention and one of them is resumed. The kubelet restarts it
 * each time; afterwards everything converges: every run Succeeded, each run's Ready Checkpoints are
 * exactly the complete checkpoints on its volume (no resource lost, no data deleted that a resource
 * still describes, none kept that retention retired), and no cleanup Job failed.
 */
class OperatorKillE2E {

  private static final String NS = "e2e-opkill";
  private static final Duration WAIT = Duration.ofMinutes(5);

  @Test
  void theOperatorKilledAtRandomConvergesWithNothingLostOrDuplicated() throws Exception {
    var seed = Long.getLong("stepwise.fault.seed", System.nanoTime());
    var kills = Integer.getInteger("stepwise.fault.kills", 6);
    var random = new Random(seed);
    System.out.printf("operator-kill-e2e: seed %d, %d kills%n", seed, kills);
    var cluster = RealCluster.get();
    RealCluster.namespace(NS);
    var client = cluster.client();
    var kubelet = cluster.kubelet();
    var runs = new ArrayList<E2eRun>();
    for (int i = 0; i < 3; i++) {
      var run = Fixtures.example("sft-run.yaml", NS);
      run.getMetadata().setName("killed-" + i);
      run.getSpec().setMaxSteps(600L);
      run.getSpec().getCkpt().setInterval(50);
      E2eRun.keepAlone(run.getSpec());
      run.getSpec()
          .getTrainer()
          .setConfig(
              run.getSpec().getTrainer().getConfig().replace("samples = 256", "samples = 0"));
      client.resource(run).create();
      runs.add(
          new E2eRun(
              client, NS, "killed-" + i, WAIT, () -> kubelet.logTails(NS, 20) + seedNote(seed)));
    }

    var start = System.nanoTime();
    for (int k = 0; k < kills; k++) {
      if (k == kills / 2) {
        // A resume recorded, then the operator killed while it applies it.
        runs.get(0).awaitTrue(() -> !runs.get(0).readySteps().isEmpty(), "a Ready checkpoint");
        runs.get(0).patchSpec(Map.of("resumeStep", runs.get(0).readySteps().get(0)));
        Thread.sleep(random.nextInt(1000));
      } else {
        Thread.sleep(500 + random.nextInt(2500)); // a random moment, not a wait for a condition
      }
      var operator = kubelet.processes(LocalCluster.OPERATOR_NAMESPACE);
      kubelet.kill(LocalCluster.OPERATOR_NAMESPACE, operator.firstKey());
    }
    var lastKill = System.nanoTime();

    for (var run : runs) {
      run.awaitStatus(
          t ->
              t.getStatus().getPhase() == RunPhase.Succeeded
                  && Long.valueOf(600).equals(t.getStatus().getLatestCheckpoint()),
          "Succeeded at 600 after the kills");
    }
    for (var run : runs) {
      var runDir = kubelet.claimDirectory(NS, run.get().getMetadata().getName() + "-data");
      run.awaitTrue(
          () ->
              run.readySteps().equals(E2eRun.completeSteps(runDir)) && run.readySteps().size() <= 3,
          "Ready Checkpoints == complete checkpoints on the volume, retention held");
      assertTrue(run.readySteps().contains(600L), "the final checkpoint " + run.readySteps());
    }
    var failedJobs =
        client.batch().v1().jobs().inNamespace(NS).list().getItems().stream()
            .filter(j -> j.getStatus() != null && j.getStatus().getFailed() != null)
            .filter(j -> j.getStatus().getFailed() > 0)
            .map(j -> j.getMetadata().getName())
            .toList();
    assertEquals(List.of(), failedJobs, "cleanup Jobs that failed" + seedNote(seed));
    assertTrue(
        runs.get(0).get().getStatus().getResumedFrom() != null,
        "the resume was applied" + seedNote(seed));
    System.out.printf(
        "BENCHMARK operator-kill-e2e: seed %d, %d SIGKILLs of the operator over %.1f s; all 3 runs"
            + " Succeeded and consistent %.1f s after the last kill%n",
        seed, kills, (lastKill - start) / 1e9, (System.nanoTime() - lastKill) / 1e9);
  }

  private static String seedNote(long seed) {
    return "\n(replay with -Dstepwise.fault.seed=" + seed + ")";
  }
}
