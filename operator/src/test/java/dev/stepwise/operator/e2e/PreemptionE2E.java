package dev.stepwise.operator.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.api.Constants;
import dev.stepwise.api.RunPhase;
import dev.stepwise.operator.Fixtures;
import java.time.Duration;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Preemption end to end: {@code kubectl delete pod} of a training trainer, as a node drain or a
 * preemption does it. The pod gets SIGTERM and its grace period ({@code
 * spec.ckpt.stopGracePeriodSeconds}); the trainer finishes its step, writes it as a complete
 * checkpoint reported with reason Preemption, and exits; the StatefulSet's new pod resumes from
 * that checkpoint, not from the last interval one, and the run completes.
 */
class PreemptionE2E {

  private static final String NS = "e2e-preempt";
  private static final Duration WAIT = Duration.ofMinutes(4);
  private static final Pattern RESUMED = Pattern.compile("resumed from \\S*step_(\\d+)");

  private static Long preemptionStep(E2eRun tr) {
    return tr.checkpoints().stream()
        .filter(c -> c.getMetadata().getAnnotations() != null)
        .filter(
            c ->
                "Preemption"
                    .equals(
                        c.getMetadata()
                            .getAnnotations()
                            .get(Constants.ANNOTATION_CHECKPOINT_REASON)))
        .map(c -> c.getSpec().getStep())
        .findFirst()
        .orElse(null);
  }

  @Test
  void aDeletedTrainerPodCheckpointsOnSigtermAndItsSuccessorResumesThere() {
    var cluster = RealCluster.get();
    RealCluster.namespace(NS);
    var client = cluster.client();
    var kubelet = cluster.kubelet();
    var run = Fixtures.example("sft-run.yaml", NS);
    run.getMetadata().setName("preempted");
    run.getSpec().setMaxSteps(2000L);
    run.getSpec().getCkpt().setInterval(500);
    run.getSpec().getCkpt().setKeep(10);
    run.getSpec()
        .getTrainer()
        .setConfig(run.getSpec().getTrainer().getConfig().replace("samples = 256", "samples = 0"));
    var pod = "preempted-trainer-0";
    var tr = new E2eRun(client, NS, "preempted", WAIT, () -> kubelet.logTails(NS, 40));
    client.resource(run).create();
    tr.awaitTrue(() -> tr.readySteps().contains(500L), "the interval checkpoint at 500");
    var grace =
        client
            .pods()
            .inNamespace(NS)
            .withName(pod)
            .get()
            .getSpec()
            .getTerminationGracePeriodSeconds();
    assertEquals(60L, grace, "the default spec.ckpt.stopGracePeriodSeconds");

    var deleted = System.nanoTime();
    client.pods().inNamespace(NS).withName(pod).delete();
    tr.awaitTrue(() -> preemptionStep(tr) != null, "a Checkpoint with reason Preemption");
    var preempted = preemptionStep(tr);
    var saved = System.nanoTime();
    assertTrue(preempted > 500, "the preemption checkpoint is past the interval one: " + preempted);

    tr.awaitStatus(t -> t.getStatus().getPhase() == RunPhase.Succeeded, "Succeeded at 2000");
    var log = kubelet.logs(NS, pod);
    var resumes = RESUMED.matcher(log).results().map(m -> Long.parseLong(m.group(1))).toList();
    assertEquals(
        java.util.List.of(preempted),
        resumes,
        "the new pod resumed from the preemption checkpoint, nothing was trained twice\n" + log);
    System.out.printf(
        "BENCHMARK preemption-e2e: trainer pod deleted -> Preemption checkpoint step %d reported"
            + " in %.1f s; the new pod resumed from it; run Succeeded%n",
        preempted, (saved - deleted) / 1e9);
  }
}
