package dev.stepwise.operator.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.api.RunPhase;
import dev.stepwise.api.TrainingRun;
import dev.stepwise.cluster.kubelet.LocalKubelet;
import dev.stepwise.operator.Fixtures;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Files;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * SFT, then RL from the SFT checkpoint, as prime-rl does it, on Kubernetes: examples/sft-run.yaml
 * (shortened to 4 steps, tiny model) runs to Succeeded; then examples/rl-run.yaml, whose spec.init
 * names the SFT run's step 4, starts its trainer from that checkpoint, read through the SFT run's
 * claim mounted at /var/lib/stepwise/init, and runs to Succeeded.
 */
class InitFromSftE2E {

  private static final Duration PHASE = Duration.ofSeconds(120);
  private static final long SFT_STEPS = 4;
  private static final long RL_STEPS = 2;

  private final String ns = "e2e-init";
  private KubernetesClient client;
  private LocalKubelet kubelet;

  @Test
  void rlRunStartsFromTheSftRunsCheckpointThroughItsVolume() throws Exception {
    var cluster = RealCluster.get();
    RealCluster.namespace(ns);
    client = cluster.client();
    kubelet = cluster.kubelet();
    var sft = Fixtures.example("sft-run.yaml", ns);
    sft.getSpec().setMaxSteps(SFT_STEPS);
    sft.getSpec().getCkpt().setInterval(2);
    sft.getSpec()
        .getTrainer()
        .setConfig(
            E2eRun.small(sft.getSpec().getTrainer().getConfig())
                .replace("samples = 256", "samples = 0"));
    var rl = Fixtures.example("rl-run.yaml", ns);
    assertEquals(
        sft.getMetadata().getName(), rl.getSpec().getInit().getCheckpoint().getTrainingRun());
    rl.getSpec().getInit().getCheckpoint().setStep(SFT_STEPS);
    rl.getSpec().setMaxSteps(RL_STEPS);
    rl.getSpec().getCkpt().setInterval(2);
    E2eRun.shrinkRl(rl.getSpec());
    {
      var start = System.nanoTime();
      client.resource(sft).create();
      awaitSucceeded(sft, SFT_STEPS);
      var sftDone = System.nanoTime();

      client.resource(rl).create();
      awaitSucceeded(rl, RL_STEPS);
      var rlDone = System.nanoTime();

      var source = kubelet.claimDirectory(ns, sft.getMetadata().getName() + "-data");
      var trainerLog = kubelet.logs(ns, rl.getMetadata().getName() + "-trainer-0");
      assertTrue(
          trainerLog.contains(
              "initialised the policy from " + source.resolve("checkpoints/step_" + SFT_STEPS)),
          "the RL trainer started from the SFT run's checkpoint on its claim\n" + trainerLog);
      assertFalse(
          trainerLog.contains("resumed from"), "a fresh start, not a resume\n" + trainerLog);
      assertTrue(
          Files.exists(
              kubelet
                  .claimDirectory(ns, rl.getMetadata().getName() + "-data")
                  .resolve("checkpoints/step_" + RL_STEPS + "/manifest.json")),
          "the RL run checkpointed onto its own claim");
      assertTrue(
          Files.exists(source.resolve("checkpoints/step_" + SFT_STEPS + "/manifest.json")),
          "the SFT checkpoint is still there");
      System.out.printf(
          "BENCHMARK init-from-sft-e2e: sft %.1f s, rl from sft %.1f s%n",
          (sftDone - start) / 1e9, (rlDone - sftDone) / 1e9);
    }
  }

  private void awaitSucceeded(TrainingRun run, long step) {
    new E2eRun(client, ns, run.getMetadata().getName(), PHASE, () -> kubelet.logTails(ns, 40))
        .awaitStatus(
            t ->
                t.getStatus().getPhase() == RunPhase.Succeeded
                    && Long.valueOf(step).equals(t.getStatus().getLatestCheckpoint()),
            "Succeeded at step " + step);
  }
}
