package dev.stepwise.operator.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.api.RunPhase;
import dev.stepwise.cluster.kubelet.LocalKubelet;
import dev.stepwise.operator.Fixtures;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * examples/rl-run.yaml end to end on the real control plane ({@link RealCluster}), the trainer,
 * orchestrator and inference pods real runtime processes, on a small model and batch so it runs in
 * seconds:
 *
 * <ol>
 *   <li>the run completes; its Checkpoints are Ready and each covers both the trainer's and the
 *       orchestrator's part;
 *   <li>patching resumeStep back to 4 recreates the trainer and orchestrator pods from step 4 on a
 *       new timeline while the inference pod keeps running (same pod, same process, no restart),
 *       and the orchestrator pushes it the weights that step 5 is sampled with; the run completes
 *       again, with final weights and optimizer state bit-identical to an uninterrupted {@code
 *       stepwise rl} run of the same configuration.
 * </ol>
 */
class RlRunE2E {

  private static final Duration PHASE = Duration.ofSeconds(150);
  private static final long MAX_STEPS = 6;

  @TempDir Path work;

  private final String ns = "e2e-rl";
  private KubernetesClient client;
  private LocalKubelet kubelet;
  private String r;
  private Path runDir;
  private E2eRun tr;

  @Test
  void rlRunCheckpointsAndResumesWithoutRestartingInference() throws Exception {
    var cluster = RealCluster.get();
    RealCluster.namespace(ns);
    client = cluster.client();
    kubelet = cluster.kubelet();
    var run = Fixtures.example("rl-run.yaml", ns);
    run.getSpec().setInit(null); // from random weights: InitFromSftE2E covers spec.init
    run.getSpec().setMaxSteps(MAX_STEPS);
    run.getSpec().getCkpt().setInterval(2);
    E2eRun.keepAlone(run.getSpec());
    E2eRun.shrinkRl(run.getSpec());
    r = run.getMetadata().getName();
    var phases = new Phases(cluster, ns);
    try {
      tr = new E2eRun(client, ns, r, PHASE, () -> kubelet.logTails(ns, 40));

      phases.run(
          "1 apply rl-run.yaml: the run completes, Checkpoints hold both parts",
          () -> {
            client.resource(run).create();
            tr.awaitStatus(
                t ->
                    t.getStatus().getPhase() == RunPhase.Succeeded
                        && t.getStatus().getLatestCheckpoint() == MAX_STEPS,
                "Succeeded at step " + MAX_STEPS);
            runDir = kubelet.claimDirectory(ns, r + "-data");
            tr.awaitTrue(
                () -> tr.readySteps().equals(List.of(4L, 6L)), "keep 2: Checkpoints 4 and 6");
            for (var step : List.of(4L, 6L)) {
              assertEquals(
                  Map.of(
                      "orchestrator", "checkpoints/step_" + step + "/orchestrator",
                      "trainer", "checkpoints/step_" + step + "/trainer"),
                  tr.checkpoint(step).getStatus().getComponents(),
                  "a complete RL checkpoint has both parts");
            }
            assertEquals(0, tr.get().getStatus().getRestarts(), "nothing crashed");
          });

      var inferencePod = pod(r + "-inference-");
      var before = kubelet.processes(ns).get(inferencePod);
      var uid = client.pods().inNamespace(ns).withName(inferencePod).get().getMetadata().getUid();
      var loadsBefore =
          count(kubelet.logTail(ns, inferencePod, 10_000), "loaded weights of step 3 ");

      phases.run(
          "2 patch resumeStep to 4: trainer and orchestrator restart from it, inference stays",
          () -> {
            tr.patchSpec(Map.of("resumeStep", 4));
            tr.awaitStatus(
                t ->
                    t.getStatus().getResumedFrom() != null
                        && t.getStatus().getResumedFrom() == 4
                        && t.getStatus().getTimeline() > 0
                        && t.getStatus().getPhase() == RunPhase.Succeeded
                        && t.getStatus().getLatestCheckpoint() == MAX_STEPS
                        && tr.checkpoint(MAX_STEPS).getStatus().getTimeline()
                            == t.getStatus().getTimeline(),
                "the new timeline completes at " + MAX_STEPS);
            var trainerLog = kubelet.logs(ns, r + "-trainer-0");
            assertTrue(
                trainerLog.contains("resumed from " + runDir.resolve("checkpoints/step_4")),
                "the trainer resumed from step 4\n" + trainerLog);
            var orchestratorLog = kubelet.logs(ns, r + "-orchestrator-");
            assertTrue(
                orchestratorLog.contains("resumed from " + runDir.resolve("checkpoints/step_4")),
                "the orchestrator resumed from step 4\n" + orchestratorLog);

            var after = kubelet.processes(ns).get(inferencePod);
            assertEquals(before.pid(), after.pid(), "the inference process was not restarted");
            assertTrue(after.alive());
            assertEquals(0, after.restartCount());
            var pod = client.pods().inNamespace(ns).withName(inferencePod).get();
            assertEquals(uid, pod.getMetadata().getUid(), "the same inference pod");
            assertEquals(
                0, pod.getStatus().getContainerStatuses().get(0).getRestartCount(), "restartCount");
            // async-level 1: step 5 is sampled with the weights of step 3, pushed again.
            var inferenceLog = kubelet.logTail(ns, inferencePod, 10_000);
            assertEquals(
                loadsBefore + 1,
                count(inferenceLog, "loaded weights of step 3 "),
                "the resumed orchestrator pushed the weights of step 3\n" + inferenceLog);

            var reference = uninterruptedRun();
            assertEquals(
                E2eRun.tensorDigests(reference, MAX_STEPS),
                E2eRun.tensorDigests(runDir, MAX_STEPS),
                "model and optimizer after 0->6, resume 4->6 equal 0->6 in one go");
          });
    } finally {
      phases.print("rl-run-e2e");
    }
  }

  /** The one pod the kubelet runs whose name starts with {@code prefix}. */
  private String pod(String prefix) {
    var names = kubelet.processes(ns).keySet().stream().filter(n -> n.startsWith(prefix)).toList();
    assertEquals(1, names.size(), "pods " + prefix + "*: " + kubelet.processes(ns).keySet());
    return names.get(0);
  }

  private static int count(String text, String what) {
    var n = 0;
    for (var i = text.indexOf(what); i >= 0; i = text.indexOf(what, i + 1)) {
      n++;
    }
    return n;
  }

  /** The run's three configs run to the end in one go by {@code stepwise rl}, as a user would. */
  private Path uninterruptedRun() throws Exception {
    var dir = work.resolve("reference");
    var spec = tr.get().getSpec();
    var files =
        Map.of(
            "trainer", spec.getTrainer().getConfig(),
            "orchestrator", spec.getOrchestrator().getConfig(),
            "inference", spec.getInference().getConfig());
    var args = new ArrayList<String>();
    args.add("rl");
    for (var role : List.of("trainer", "orchestrator", "inference")) {
      var file = work.resolve("reference-" + role + ".toml");
      Files.writeString(file, files.get(role));
      args.addAll(List.of("--" + role, "@", file.toString()));
    }
    int port;
    try (var socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    args.addAll(
        List.of(
            "--output-dir",
            dir.toString(),
            "--max-steps",
            String.valueOf(MAX_STEPS),
            "--ckpt",
            "--inference.server.host",
            "127.0.0.1",
            "--inference.server.port",
            String.valueOf(port)));
    E2eRun.runToEnd(args, work.resolve("reference.log"), PHASE);
    return dir;
  }
}
