package dev.stepwise.operator.e2e;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stepwise.api.Checkpoint;
import dev.stepwise.api.CheckpointPhase;
import dev.stepwise.api.RunPhase;
import dev.stepwise.api.TrainingRun;
import dev.stepwise.operator.MockApiServer;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.kubernetes.client.KubernetesServer;
import io.quarkus.test.kubernetes.client.KubernetesTestServer;
import io.quarkus.test.kubernetes.client.WithKubernetesTestServer;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * examples/rl-run.yaml end to end, with the real operator, the mock API server and the trainer,
 * orchestrator and inference pods as real runtime processes ({@link LocalPodRunner}), on a small
 * model and batch so it runs in seconds:
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
@QuarkusTest
@WithKubernetesTestServer(crud = true, setup = MockApiServer.class)
class RlRunE2E {

  private static final Duration PHASE = Duration.ofSeconds(150);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final long MAX_STEPS = 6;

  @KubernetesTestServer KubernetesServer server;

  @TempDir Path work;

  private KubernetesClient client;
  private LocalPodRunner runner;
  private final String ns = "e2e-rl";
  private String r;
  private Path runDir;
  private final Map<String, String> report = new LinkedHashMap<>();

  @Test
  void rlRunCheckpointsAndResumesWithoutRestartingInference() throws Exception {
    client = server.getClient();
    var run = example("rl-run.yaml");
    run.getSpec().setInit(null); // from random weights: InitFromSftE2E covers spec.init
    run.getSpec().setMaxSteps(MAX_STEPS);
    run.getSpec().getCkpt().setInterval(2);
    var spec = run.getSpec();
    spec.getTrainer().setConfig(small(spec.getTrainer().getConfig()));
    spec.getOrchestrator().setConfig(small(spec.getOrchestrator().getConfig()));
    spec.getInference().setConfig(small(spec.getInference().getConfig()));
    r = run.getMetadata().getName();
    MockApiServer.drain(server.getKubernetesMockServer());
    try (var local =
        LocalPodRunner.builder(client, ns, work)
            .restartBackoff(Duration.ofMillis(200), Duration.ofSeconds(2))
            .build()
            .start()) {
      runner = local;
      runDir = runner.runDir(r + "-data");

      phase(
          "1 apply rl-run.yaml: the run completes, Checkpoints hold both parts",
          () -> {
            client.resource(run).create();
            awaitRun(
                t ->
                    t.getStatus().getPhase() == RunPhase.Succeeded
                        && t.getStatus().getLatestCheckpoint() == MAX_STEPS,
                "Succeeded at step " + MAX_STEPS);
            awaitTrue(() -> readySteps().equals(List.of(4L, 6L)), "keep 2: Checkpoints 4 and 6");
            for (var step : List.of(4L, 6L)) {
              assertEquals(
                  Map.of(
                      "orchestrator", "checkpoints/step_" + step + "/orchestrator",
                      "trainer", "checkpoints/step_" + step + "/trainer"),
                  checkpoint(step).getStatus().getComponents(),
                  "a complete RL checkpoint has both parts");
            }
            assertEquals(0, trainingRun().getStatus().getRestarts(), "nothing crashed");
          });

      var inferencePod = pod(r + "-inference-");
      var before = runner.processes().get(inferencePod);
      var uid = client.pods().inNamespace(ns).withName(inferencePod).get().getMetadata().getUid();
      var loadsBefore = count(runner.logTail(inferencePod, 10_000), "loaded weights of step 3 ");

      phase(
          "2 patch resumeStep to 4: trainer and orchestrator restart from it, inference stays",
          () -> {
            patchSpec(Map.of("resumeStep", 4));
            awaitRun(
                t ->
                    t.getStatus().getResumedFrom() != null
                        && t.getStatus().getResumedFrom() == 4
                        && t.getStatus().getTimeline() > 0
                        && t.getStatus().getPhase() == RunPhase.Succeeded
                        && t.getStatus().getLatestCheckpoint() == MAX_STEPS
                        && checkpoint(MAX_STEPS).getStatus().getTimeline()
                            == t.getStatus().getTimeline(),
                "the new timeline completes at " + MAX_STEPS);
            var trainerLog = logs(r + "-trainer-0");
            assertTrue(
                trainerLog.contains("resumed from " + runDir.resolve("checkpoints/step_4")),
                "the trainer resumed from step 4\n" + trainerLog);
            var orchestratorLog = logs(r + "-orchestrator-");
            assertTrue(
                orchestratorLog.contains("resumed from " + runDir.resolve("checkpoints/step_4")),
                "the orchestrator resumed from step 4\n" + orchestratorLog);

            var after = runner.processes().get(inferencePod);
            assertEquals(before.pid(), after.pid(), "the inference process was not restarted");
            assertTrue(after.alive());
            assertEquals(0, after.restartCount());
            var pod = client.pods().inNamespace(ns).withName(inferencePod).get();
            assertEquals(uid, pod.getMetadata().getUid(), "the same inference pod");
            assertEquals(
                0, pod.getStatus().getContainerStatuses().get(0).getRestartCount(), "restartCount");
            // async-level 1: step 5 is sampled with the weights of step 3, pushed again.
            var inferenceLog = runner.logTail(inferencePod, 10_000);
            assertEquals(
                loadsBefore + 1,
                count(inferenceLog, "loaded weights of step 3 "),
                "the resumed orchestrator pushed the weights of step 3\n" + inferenceLog);

            var reference = uninterruptedRun();
            assertEquals(
                tensors(reference, MAX_STEPS),
                tensors(runDir, MAX_STEPS),
                "model and optimizer after 0->6, resume 4->6 equal 0->6 in one go");
          });
    } finally {
      System.out.println("BENCHMARK rl-run-e2e phases:");
      report.forEach((k, v) -> System.out.println("  " + k + ": " + v));
    }
  }

  /** The example's configs, shrunk: a tiny model and a small batch. */
  private static String small(String toml) {
    return toml.replace("d-model = 64", "d-model = 16")
        .replace("n-layers = 2", "n-layers = 1")
        .replace("n-heads = 4", "n-heads = 2")
        .replace("d-ff = 256", "d-ff = 32")
        .replace("batch-size = 256", "batch-size = 16")
        .replace("rollouts-per-problem = 8", "rollouts-per-problem = 4");
  }

  // --- phases --------------------------------------------------------------------------------

  @FunctionalInterface
  private interface Body {
    void run() throws Exception;
  }

  private void phase(String name, Body body) throws Exception {
    var start = System.nanoTime();
    try {
      body.run();
    } finally {
      var seconds = (System.nanoTime() - start) / 1e9;
      var writes = MockApiServer.takeWrites(server.getKubernetesMockServer());
      var byKind =
          writes.stream()
              .collect(
                  Collectors.groupingBy(
                      CheckpointLifecycleE2E::writeKind, TreeMap::new, Collectors.counting()));
      report.put(name, "%.1f s, %d API writes %s".formatted(seconds, writes.size(), byKind));
    }
  }

  // --- observations --------------------------------------------------------------------------

  private TrainingRun trainingRun() {
    return client.resources(TrainingRun.class).inNamespace(ns).withName(r).get();
  }

  private void awaitRun(Predicate<TrainingRun> until, String what) {
    await()
        .alias(what)
        .atMost(PHASE)
        .pollInterval(Duration.ofMillis(100))
        .conditionEvaluationListener(
            e -> {
              if (e.getRemainingTimeInMS() <= 0) {
                System.out.println("TIMEOUT " + what + "\n" + runner.logTails(40));
              }
            })
        .until(
            this::trainingRun,
            t -> {
              try {
                return t != null && t.getStatus() != null && until.test(t);
              } catch (NullPointerException incomplete) {
                return false;
              }
            });
  }

  private void awaitTrue(java.util.concurrent.Callable<Boolean> condition, String what) {
    await().alias(what).atMost(PHASE).pollInterval(Duration.ofMillis(50)).until(condition);
  }

  private Checkpoint checkpoint(long step) {
    return client.resources(Checkpoint.class).inNamespace(ns).withName(r + "-step-" + step).get();
  }

  private List<Long> readySteps() {
    return client.resources(Checkpoint.class).inNamespace(ns).list().getItems().stream()
        .filter(c -> c.getMetadata().getDeletionTimestamp() == null)
        .filter(c -> c.getStatus() != null && c.getStatus().getPhase() == CheckpointPhase.Ready)
        .map(c -> c.getSpec().getStep())
        .sorted()
        .toList();
  }

  /** The one pod the runner plays whose name starts with {@code prefix}. */
  private String pod(String prefix) {
    var names = runner.processes().keySet().stream().filter(n -> n.startsWith(prefix)).toList();
    assertEquals(1, names.size(), "pods " + prefix + "*: " + runner.processes().keySet());
    return names.get(0);
  }

  /** Every log of the pods whose names start with {@code prefix}, oldest pod first. */
  private String logs(String prefix) throws IOException {
    var dir = runner.log("x").getParent();
    try (var files = Files.list(dir)) {
      var out = new StringBuilder();
      for (var f :
          files
              .filter(f -> f.getFileName().toString().startsWith(prefix))
              .sorted((a, b) -> Long.compare(a.toFile().lastModified(), b.toFile().lastModified()))
              .toList()) {
        out.append(Files.readString(f));
      }
      return out.toString();
    }
  }

  private static int count(String text, String what) {
    var n = 0;
    for (var i = text.indexOf(what); i >= 0; i = text.indexOf(what, i + 1)) {
      n++;
    }
    return n;
  }

  private void patchSpec(Map<String, Object> spec) {
    client
        .resources(TrainingRun.class)
        .inNamespace(ns)
        .withName(r)
        .patch(PatchContext.of(PatchType.JSON_MERGE), Serialization.asJson(Map.of("spec", spec)));
  }

  /** SHA-256 of the trainer's tensor files (model, optimizer) of a checkpoint, by file name. */
  private static Map<String, String> tensors(Path run, long step) throws IOException {
    JsonNode manifest =
        JSON.readTree(run.resolve("checkpoints/step_" + step + "/manifest.json").toFile());
    var files = new TreeMap<String, String>();
    for (var file : manifest.path("components").path("trainer").path("files")) {
      var path = file.get("path").asText();
      if (path.endsWith(".safetensors")) {
        files.put(path, file.get("sha256").asText());
      }
    }
    assertFalse(files.isEmpty(), "tensor files in step " + step);
    return files;
  }

  /** The run's three configs run to the end in one go by {@code stepwise rl}, as a user would. */
  private Path uninterruptedRun() throws Exception {
    var dir = work.resolve("reference");
    var spec = trainingRun().getSpec();
    var files =
        Map.of(
            "trainer", spec.getTrainer().getConfig(),
            "orchestrator", spec.getOrchestrator().getConfig(),
            "inference", spec.getInference().getConfig());
    var command = new ArrayList<>(LocalPodRunner.runtimeJarCommand());
    command.add("rl");
    for (var role : List.of("trainer", "orchestrator", "inference")) {
      var file = work.resolve("reference-" + role + ".toml");
      Files.writeString(file, files.get(role));
      command.addAll(List.of("--" + role, "@", file.toString()));
    }
    int port;
    try (var socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    command.addAll(
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
    var builder = new ProcessBuilder(command).redirectErrorStream(true);
    builder.environment().putAll(LocalPodRunner.QUIET_THREADS);
    builder.redirectOutput(work.resolve("reference.log").toFile());
    var process = builder.start();
    if (!process.waitFor(PHASE.toSeconds(), TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new AssertionError("the reference run did not finish in " + PHASE);
    }
    assertEquals(0, process.exitValue(), () -> read(work.resolve("reference.log")));
    return dir;
  }

  private static String read(Path file) {
    try {
      return Files.readString(file);
    } catch (IOException e) {
      return "(no " + file + ")";
    }
  }

  private TrainingRun example(String file) throws IOException {
    var dir = Path.of(System.getProperty("stepwise.examples", "../examples"));
    try (var in = Files.newInputStream(dir.resolve(file))) {
      var run = Serialization.unmarshal(in, TrainingRun.class);
      run.getMetadata().setNamespace(ns);
      return run;
    }
  }
}
