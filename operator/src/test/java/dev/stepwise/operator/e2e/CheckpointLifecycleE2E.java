package dev.stepwise.operator.e2e;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.api.Checkpoint;
import dev.stepwise.api.RunPhase;
import dev.stepwise.cluster.kubelet.LocalKubelet;
import dev.stepwise.operator.Fixtures;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checkpoints end to end on the real control plane ({@link RealCluster}: the operator in its pod as
 * the chart's ServiceAccount, the trainer a real runtime process run by the local kubelet):
 * examples/sft-run.yaml, shortened to maxSteps 20 with a checkpoint every 5 steps (keep 2), is
 * applied, and then
 *
 * <ol>
 *   <li>Checkpoint resources appear as the trainer writes them; keep holds, counted both as
 *       resources and as directories; the run ends Succeeded with the trainer scaled to zero;
 *   <li>deleting a Checkpoint deletes its directory; a pinned one survives retention;
 *   <li>raising maxSteps continues the run; killing the trainer mid-run makes it recover from the
 *       latest checkpoint, counted in status.restarts;
 *   <li>patching resumeStep back to 20 restarts the trainer from step 20 on a new timeline, whose
 *       checkpoints replace the abandoned ones; the final weights and optimizer state are
 *       bit-identical to those of an uninterrupted run;
 *   <li>a resume to a step without a Ready checkpoint changes no pod, and says so in a condition
 *       and a Warning event.
 * </ol>
 *
 * Each phase prints its duration and the writes the audit log recorded, by writer and resource.
 */
class CheckpointLifecycleE2E {

  private static final Duration PHASE = Duration.ofSeconds(150);

  @TempDir Path work;

  private final String ns = "e2e-ckpt";
  private KubernetesClient client;
  private LocalKubelet kubelet;
  private String r;
  private Path runDir;
  private E2eRun tr;

  @Test
  void checkpointsRetentionResumeAndRecoveryEndToEnd() throws Exception {
    var cluster = RealCluster.get();
    RealCluster.namespace(ns);
    client = cluster.client();
    kubelet = cluster.kubelet();
    var run = Fixtures.example("sft-run.yaml", ns);
    run.getSpec().setMaxSteps(20L);
    run.getSpec().getCkpt().setInterval(5);
    E2eRun.keepAlone(run.getSpec());
    // Evaluation is not what this test is about: skip it so each process ends quickly.
    run.getSpec()
        .getTrainer()
        .setConfig(run.getSpec().getTrainer().getConfig().replace("samples = 256", "samples = 0"));
    r = run.getMetadata().getName();
    var trainerPod = r + "-trainer-0";
    var phases = new Phases(cluster, ns);
    try {
      tr =
          new E2eRun(
              client,
              ns,
              r,
              PHASE,
              () ->
                  describeCheckpoints() + " dirs " + stepDirs() + "\n" + kubelet.logTails(ns, 30));

      phases.run(
          "1 apply sft-run.yaml: Checkpoints appear, keep 2 holds",
          () -> {
            client.resource(run).create();
            tr.awaitStatus(
                t -> t.getStatus().getPhase() == RunPhase.Succeeded, "Succeeded at step 20");
            runDir = kubelet.claimDirectory(ns, r + "-data");
            tr.awaitTrue(
                () ->
                    tr.readySteps().equals(List.of(15L, 20L))
                        && stepDirs().equals(List.of(15L, 20L)),
                "keep 2: Ready Checkpoints and directories are 15 and 20");
            var ckpt = tr.checkpoint(20);
            assertEquals(r, ckpt.getSpec().getTrainingRun());
            assertEquals(20L, ckpt.getSpec().getStep());
            assertTrue(ckpt.getStatus().getSizeBytes() > 0);
            assertEquals(
                Map.of("trainer", "checkpoints/step_20/trainer"), ckpt.getStatus().getComponents());
            assertNotNull(ckpt.getStatus().getCompletedAt());
            assertEquals(0L, ckpt.getStatus().getTimeline());
            assertEquals(r, ckpt.getMetadata().getLabels().get("stepwise.dev/training-run"));
            assertEquals("Ready", ckpt.getMetadata().getLabels().get("stepwise.dev/phase"));
            assertEquals("TrainingRun", ckpt.getMetadata().getOwnerReferences().get(0).getKind());
            assertEquals(
                List.of("stepwise.dev/checkpoint-data"), ckpt.getMetadata().getFinalizers());
            var status = tr.get().getStatus();
            assertEquals(20L, status.getLatestCheckpoint());
            assertEquals(20L, status.getStep());
            assertEquals(0, status.getRestarts(), "nothing crashed");
            tr.awaitTrue(() -> trainerReplicas() == 0, "a finished run scales the trainer to zero");
          });

      phases.run(
          "2 delete a Checkpoint (its directory goes), pin another",
          () -> {
            client.resources(Checkpoint.class).inNamespace(ns).withName(r + "-step-15").delete();
            tr.awaitTrue(
                () ->
                    stepDirs().equals(List.of(20L))
                        && checkpointNames().equals(List.of(r + "-step-20")),
                "r-step-15 and checkpoints/step_15 are gone");
            client
                .resources(Checkpoint.class)
                .inNamespace(ns)
                .withName(r + "-step-20")
                .patch(PatchContext.of(PatchType.JSON_MERGE), "{\"spec\":{\"retain\":true}}");
          });

      phases.run(
          "3 raise maxSteps to 60, kill the trainer mid-run: it recovers",
          () -> {
            tr.patchSpec(Map.of("maxSteps", 60));
            tr.awaitTrue(
                () -> tr.readySteps().contains(25L), "the continued run checkpoints step 25");
            kubelet.kill(ns, trainerPod);
            tr.awaitStatus(t -> t.getStatus().getPhase() == RunPhase.Succeeded, "Succeeded at 60");
            var log = kubelet.logTail(ns, trainerPod, 400);
            var resumes = resumedSteps(log);
            assertTrue(
                resumes.size() >= 2 && resumes.get(resumes.size() - 1) >= 25,
                "after the kill the trainer resumed from the latest checkpoint (>= 25), not from"
                    + " scratch: resumes "
                    + resumes
                    + "\n"
                    + log);
            assertTrue(tr.get().getStatus().getRestarts() >= 1, "status.restarts counts it");
            tr.awaitTrue(
                () ->
                    tr.readySteps().equals(List.of(20L, 55L, 60L))
                        && stepDirs().equals(List.of(20L, 55L, 60L)),
                "keep 2 plus the pinned step 20");
          });

      phases.run(
          "4 patch resumeStep back to 20: trainer restarts from it, run completes bit-exact",
          () -> {
            tr.awaitTrue(
                () -> client.pods().inNamespace(ns).withName(trainerPod).get() == null,
                "the finished run has no trainer pod");
            var restarts = tr.get().getStatus().getRestarts();
            tr.patchSpec(Map.of("resumeStep", 20));
            tr.awaitStatus(
                t ->
                    t.getStatus().getResumedFrom() != null
                        && t.getStatus().getResumedFrom() == 20
                        && t.getStatus().getPhase() == RunPhase.Succeeded
                        && t.getStatus().getLatestCheckpoint() == 60,
                "the new timeline completes at 60");
            var timeline = tr.get().getStatus().getTimeline();
            assertTrue(timeline > 0, "a resume starts a new timeline");
            var log = kubelet.logTail(ns, trainerPod, 400);
            assertTrue(
                log.contains("resumed from " + runDir.resolve("checkpoints/step_20")),
                "the trainer resumed from step 20\n" + log);
            tr.awaitTrue(
                () ->
                    tr.readySteps().equals(List.of(20L, 55L, 60L))
                        && stepDirs().equals(List.of(20L, 55L, 60L)),
                "keep 2 plus the pinned step 20 on the new timeline");
            assertEquals(timeline, tr.checkpoint(60).getStatus().getTimeline());
            assertEquals(restarts, tr.get().getStatus().getRestarts(), "a resume is no recovery");
            assertEquals(timeline, E2eRun.manifest(runDir, 60).get("timeline").asLong());
            var reference = uninterruptedRun(60);
            assertEquals(
                E2eRun.tensorDigests(reference, 60),
                E2eRun.tensorDigests(runDir, 60),
                "model and optimizer after 0->20, 20->kill->60, resume 20->60 equal 0->60 in one go");
          });

      phases.run(
          "5 resume to a step without a Ready checkpoint: condition, event, no pod touched",
          () -> {
            var sts = client.apps().statefulSets().inNamespace(ns).withName(r + "-trainer").get();
            tr.patchSpec(Map.of("resumeStep", 12, "maxSteps", 80));
            var degraded =
                tr.awaitStatus(
                    t ->
                        t.getStatus().getConditions().stream()
                            .anyMatch(
                                c ->
                                    "Degraded".equals(c.getType())
                                        && "True".equals(c.getStatus())
                                        && "CheckpointNotFound".equals(c.getReason())),
                    "Degraded: CheckpointNotFound");
            var message =
                degraded.getStatus().getConditions().stream()
                    .filter(c -> "Degraded".equals(c.getType()))
                    .findFirst()
                    .orElseThrow()
                    .getMessage();
            assertEquals(
                "spec.resumeStep: no Ready checkpoint at step 12 of run "
                    + r
                    + "; Ready steps: 20, 55, 60",
                message);
            tr.awaitTrue(
                () ->
                    client.v1().events().inNamespace(ns).list().getItems().stream()
                        .map(Event::getReason)
                        .anyMatch("ResumeRejected"::equals),
                "a Warning event ResumeRejected");
            await()
                .during(Duration.ofSeconds(2))
                .atMost(Duration.ofSeconds(5))
                .until(
                    () ->
                        !kubelet.processes(ns).containsKey(trainerPod)
                            && client.pods().inNamespace(ns).withName(trainerPod).get() == null);
            var after = client.apps().statefulSets().inNamespace(ns).withName(r + "-trainer").get();
            assertEquals(sts.getMetadata().getGeneration(), after.getMetadata().getGeneration());
            assertEquals(sts.getSpec(), after.getSpec(), "maxSteps 80 was not applied either");
          });
    } finally {
      phases.print("checkpoint-lifecycle-e2e");
    }
  }

  // --- observations --------------------------------------------------------------------------

  private List<String> checkpointNames() {
    return tr.checkpoints().stream().map(c -> c.getMetadata().getName()).sorted().toList();
  }

  /** Each Checkpoint as "name phase timeline [deleting] finalizers", for failure messages. */
  private List<String> describeCheckpoints() {
    return tr.checkpoints().stream()
        .map(
            c ->
                c.getMetadata().getName()
                    + " "
                    + (c.getStatus() == null ? null : c.getStatus().getPhase())
                    + " t"
                    + (c.getStatus() == null ? null : c.getStatus().getTimeline())
                    + (c.getMetadata().getDeletionTimestamp() == null ? "" : " deleting")
                    + " "
                    + c.getMetadata().getFinalizers())
        .sorted()
        .toList();
  }

  /** Every step_<n> directory of the run volume, complete or not. */
  private List<Long> stepDirs() {
    if (runDir == null) {
      return List.of();
    }
    var dir = runDir.resolve("checkpoints");
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (var list = Files.list(dir)) {
      return list.map(p -> p.getFileName().toString())
          .filter(n -> n.matches("step_[0-9]+"))
          .map(n -> Long.parseLong(n.substring(5)))
          .sorted()
          .toList();
    } catch (IOException e) {
      return List.of(-1L);
    }
  }

  private int trainerReplicas() {
    var sts = client.apps().statefulSets().inNamespace(ns).withName(r + "-trainer").get();
    return sts.getSpec().getReplicas();
  }

  /** Steps of every "resumed from .../step_<n>" line of a log, in order. */
  private static List<Long> resumedSteps(String log) {
    var steps = new ArrayList<Long>();
    var matcher = Pattern.compile("resumed from \\S*step_(\\d+)").matcher(log);
    while (matcher.find()) {
      steps.add(Long.parseLong(matcher.group(1)));
    }
    return steps;
  }

  /** The same trainer config trained to {@code steps} in one process, as a pod would run it. */
  private Path uninterruptedRun(long steps) throws Exception {
    var dir = work.resolve("reference");
    var config = work.resolve("reference.toml");
    Files.writeString(config, tr.get().getSpec().getTrainer().getConfig());
    E2eRun.runToEnd(
        List.of(
            "sft",
            "@",
            config.toString(),
            "--output-dir",
            dir.toString(),
            "--max-steps",
            String.valueOf(steps),
            "--ckpt"),
        work.resolve("reference.log"),
        PHASE);
    return dir;
  }
}
