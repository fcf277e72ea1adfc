package dev.stepwise.operator.e2e;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stepwise.api.Checkpoint;
import dev.stepwise.api.CheckpointPhase;
import dev.stepwise.api.RunPhase;
import dev.stepwise.api.TrainingRun;
import dev.stepwise.operator.MockApiServer;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.kubernetes.client.KubernetesServer;
import io.quarkus.test.kubernetes.client.KubernetesTestServer;
import io.quarkus.test.kubernetes.client.WithKubernetesTestServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checkpoints end to end, with the real operator, the mock API server and the trainer as a real
 * runtime process ({@link LocalPodRunner}): examples/sft-run.yaml, shortened to maxSteps 20 with a
 * checkpoint every 5 steps (keep 2), is applied, and then
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
 * Each phase prints its duration and the writes the API server received, by method and resource.
 */
@QuarkusTest
@WithKubernetesTestServer(crud = true, setup = MockApiServer.class)
class CheckpointLifecycleE2E {

  private static final Duration PHASE = Duration.ofSeconds(150);
  private static final ObjectMapper JSON = new ObjectMapper();

  @KubernetesTestServer KubernetesServer server;

  @TempDir Path work;

  private KubernetesClient client;
  private LocalPodRunner runner;
  private final String ns = "e2e-ckpt";
  private String r;
  private Path runDir;
  private final Map<String, String> report = new LinkedHashMap<>();

  @Test
  void checkpointsRetentionResumeAndRecoveryEndToEnd() throws Exception {
    client = server.getClient();
    var run = example("sft-run.yaml");
    run.getSpec().setMaxSteps(20L);
    run.getSpec().getCkpt().setInterval(5);
    // Evaluation is not what this test is about: skip it so each process ends quickly.
    run.getSpec()
        .getTrainer()
        .setConfig(run.getSpec().getTrainer().getConfig().replace("samples = 256", "samples = 0"));
    r = run.getMetadata().getName();
    var trainerPod = r + "-trainer-0";
    MockApiServer.drain(server.getKubernetesMockServer());
    try (var local =
        LocalPodRunner.builder(client, ns, work)
            .restartBackoff(Duration.ofMillis(200), Duration.ofSeconds(2))
            .build()
            .start()) {
      runner = local;
      runDir = runner.runDir(r + "-data");

      phase(
          "1 apply sft-run.yaml: Checkpoints appear, keep 2 holds",
          () -> {
            client.resource(run).create();
            awaitRun(t -> t.getStatus().getPhase() == RunPhase.Succeeded, "Succeeded at step 20");
            awaitTrue(
                () ->
                    readySteps().equals(List.of(15L, 20L)) && stepDirs().equals(List.of(15L, 20L)),
                "keep 2: Ready Checkpoints and directories are 15 and 20");
            var ckpt = checkpoint(20);
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
            var status = trainingRun().getStatus();
            assertEquals(20L, status.getLatestCheckpoint());
            assertEquals(20L, status.getStep());
            assertEquals(0, status.getRestarts(), "nothing crashed");
            awaitTrue(() -> trainerReplicas() == 0, "a finished run scales the trainer to zero");
          });

      phase(
          "2 delete a Checkpoint (its directory goes), pin another",
          () -> {
            client.resources(Checkpoint.class).inNamespace(ns).withName(r + "-step-15").delete();
            awaitTrue(
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

      phase(
          "3 raise maxSteps to 60, kill the trainer mid-run: it recovers",
          () -> {
            patchSpec(Map.of("maxSteps", 60));
            awaitTrue(() -> readySteps().contains(25L), "the continued run checkpoints step 25");
            runner.kill(trainerPod);
            awaitRun(t -> t.getStatus().getPhase() == RunPhase.Succeeded, "Succeeded at 60");
            var log = runner.logTail(trainerPod, 400);
            var resumes = resumedSteps(log);
            assertTrue(
                resumes.size() >= 2 && resumes.get(resumes.size() - 1) >= 25,
                "after the kill the trainer resumed from the latest checkpoint (>= 25), not from"
                    + " scratch: resumes "
                    + resumes
                    + "\n"
                    + log);
            assertTrue(trainingRun().getStatus().getRestarts() >= 1, "status.restarts counts it");
            awaitTrue(
                () ->
                    readySteps().equals(List.of(20L, 55L, 60L))
                        && stepDirs().equals(List.of(20L, 55L, 60L)),
                "keep 2 plus the pinned step 20");
          });

      phase(
          "4 patch resumeStep back to 20: trainer restarts from it, run completes bit-exact",
          () -> {
            awaitTrue(
                () -> client.pods().inNamespace(ns).withName(trainerPod).get() == null,
                "the finished run has no trainer pod");
            var restarts = trainingRun().getStatus().getRestarts();
            patchSpec(Map.of("resumeStep", 20));
            awaitRun(
                t ->
                    t.getStatus().getResumedFrom() != null
                        && t.getStatus().getResumedFrom() == 20
                        && t.getStatus().getPhase() == RunPhase.Succeeded
                        && t.getStatus().getLatestCheckpoint() == 60,
                "the new timeline completes at 60");
            var timeline = trainingRun().getStatus().getTimeline();
            assertTrue(timeline > 0, "a resume starts a new timeline");
            var log = runner.logTail(trainerPod, 400);
            assertTrue(
                log.contains("resumed from " + runDir.resolve("checkpoints/step_20")),
                "the trainer resumed from step 20\n" + log);
            awaitTrue(
                () ->
                    readySteps().equals(List.of(20L, 55L, 60L))
                        && stepDirs().equals(List.of(20L, 55L, 60L)),
                "keep 2 plus the pinned step 20 on the new timeline");
            assertEquals(timeline, checkpoint(60).getStatus().getTimeline());
            assertEquals(
                restarts, trainingRun().getStatus().getRestarts(), "a resume is no recovery");
            assertEquals(timeline, manifest(runDir, 60).get("timeline").asLong());
            var reference = uninterruptedRun(60);
            assertEquals(
                weights(reference, 60),
                weights(runDir, 60),
                "model and optimizer after 0->20, 20->kill->60, resume 20->60 equal 0->60 in one go");
          });

      phase(
          "5 resume to a step without a Ready checkpoint: condition, event, no pod touched",
          () -> {
            var sts = client.apps().statefulSets().inNamespace(ns).withName(r + "-trainer").get();
            patchSpec(Map.of("resumeStep", 12, "maxSteps", 80));
            var degraded =
                awaitRun(
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
            awaitTrue(
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
                        !runner.processes().containsKey(trainerPod)
                            && client.pods().inNamespace(ns).withName(trainerPod).get() == null);
            var after = client.apps().statefulSets().inNamespace(ns).withName(r + "-trainer").get();
            assertEquals(sts.getMetadata().getGeneration(), after.getMetadata().getGeneration());
            assertEquals(sts.getSpec(), after.getSpec(), "maxSteps 80 was not applied either");
          });
    } finally {
      System.out.println("BENCHMARK checkpoint-lifecycle-e2e phases:");
      report.forEach((k, v) -> System.out.println("  " + k + ": " + v));
    }
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

  /** "PATCH checkpoints/status" from "PATCH /apis/.../namespaces/ns/checkpoints/x/status". */
  static String writeKind(String write) {
    var method = write.substring(0, write.indexOf(' '));
    var path = write.substring(write.indexOf(' ') + 1).replaceFirst("\\?.*", "");
    var parts = path.split("/");
    for (var i = 0; i < parts.length - 1; i++) {
      if (parts[i].equals("namespaces") && i + 2 < parts.length) {
        var kind = parts[i + 2];
        var sub = i + 4 < parts.length ? "/" + parts[i + 4] : "";
        return method + " " + kind + sub;
      }
    }
    return method + " " + path;
  }

  // --- observations --------------------------------------------------------------------------

  private TrainingRun trainingRun() {
    return client.resources(TrainingRun.class).inNamespace(ns).withName(r).get();
  }

  private TrainingRun awaitRun(java.util.function.Predicate<TrainingRun> until, String what) {
    return await()
        .alias(what)
        .atMost(PHASE)
        .pollInterval(Duration.ofMillis(100))
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

  private void awaitTrue(Callable<Boolean> condition, String what) {
    await()
        .conditionEvaluationListener(
            e -> {
              if (e.getRemainingTimeInMS() <= 0) {
                System.out.println(
                    "TIMEOUT " + what + ": " + describeCheckpoints() + " dirs " + stepDirs());
              }
            })
        .alias(what)
        .atMost(PHASE)
        .pollInterval(Duration.ofMillis(50))
        .until(condition);
  }

  private Checkpoint checkpoint(long step) {
    return client.resources(Checkpoint.class).inNamespace(ns).withName(r + "-step-" + step).get();
  }

  private List<String> checkpointNames() {
    return client.resources(Checkpoint.class).inNamespace(ns).list().getItems().stream()
        .map(c -> c.getMetadata().getName())
        .sorted()
        .toList();
  }

  /** Each Checkpoint as "name phase timeline [deleting] finalizers", for failure messages. */
  private List<String> describeCheckpoints() {
    return client.resources(Checkpoint.class).inNamespace(ns).list().getItems().stream()
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

  /** Steps of the Ready Checkpoints that are not being deleted. */
  private List<Long> readySteps() {
    return client.resources(Checkpoint.class).inNamespace(ns).list().getItems().stream()
        .filter(c -> c.getMetadata().getDeletionTimestamp() == null)
        .filter(c -> c.getStatus() != null && c.getStatus().getPhase() == CheckpointPhase.Ready)
        .map(c -> c.getSpec().getStep())
        .sorted()
        .toList();
  }

  /** Every step_<n> directory of the run volume, complete or not. */
  private List<Long> stepDirs() {
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

  /** {@code kubectl patch trainingrun <r> --type merge -p '{"spec":{...}}'}. */
  private void patchSpec(Map<String, Object> spec) {
    client
        .resources(TrainingRun.class)
        .inNamespace(ns)
        .withName(r)
        .patch(PatchContext.of(PatchType.JSON_MERGE), Serialization.asJson(Map.of("spec", spec)));
  }

  /** Steps of every "resumed from .../step_<n>" line of a log, in order. */
  private static List<Long> resumedSteps(String log) {
    var steps = new ArrayList<Long>();
    var matcher = java.util.regex.Pattern.compile("resumed from \\S*step_(\\d+)").matcher(log);
    while (matcher.find()) {
      steps.add(Long.parseLong(matcher.group(1)));
    }
    return steps;
  }

  private static JsonNode manifest(Path run, long step) throws IOException {
    return JSON.readTree(run.resolve("checkpoints/step_" + step + "/manifest.json").toFile());
  }

  /** SHA-256 of every tensor file (model, optimizer) of a checkpoint, by file name. */
  private static Map<String, String> weights(Path run, long step) throws IOException {
    var files = new TreeMap<String, String>();
    for (var file : manifest(run, step).path("components").path("trainer").path("files")) {
      var path = file.get("path").asText();
      if (path.endsWith(".safetensors")) {
        files.put(path, file.get("sha256").asText());
      }
    }
    assertFalse(files.isEmpty(), "tensor files in step " + step);
    return files;
  }

  /** The same trainer config trained to {@code steps} in one process, as a pod would run it. */
  private Path uninterruptedRun(long steps) throws Exception {
    var dir = work.resolve("reference");
    var config = work.resolve("reference.toml");
    Files.writeString(config, trainingRun().getSpec().getTrainer().getConfig());
    var command = new ArrayList<>(LocalPodRunner.runtimeJarCommand());
    command.addAll(
        List.of(
            "sft",
            "@",
            config.toString(),
            "--output-dir",
            dir.toString(),
            "--max-steps",
            String.valueOf(steps),
            "--ckpt"));
    var builder = new ProcessBuilder(command).redirectErrorStream(true);
    builder.environment().putAll(LocalPodRunner.QUIET_THREADS);
    builder.redirectOutput(work.resolve("reference.log").toFile());
    var process = builder.start();
    if (!process.waitFor(PHASE.toSeconds(), TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new AssertionError("the reference run did not finish in " + PHASE);
    }
    assertEquals(0, process.exitValue(), () -> readQuietly(work.resolve("reference.log")));
    return dir;
  }

  private static String readQuietly(Path file) {
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
