package dev.stepwise.operator.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stepwise.api.Checkpoint;
import dev.stepwise.api.CheckpointPhase;
import dev.stepwise.api.TrainingRun;
import dev.stepwise.api.TrainingRunSpec;
import dev.stepwise.cluster.controlplane.ControlPlaneBinary;
import dev.stepwise.cluster.kubelet.LocalImages;
import dev.stepwise.cluster.kubelet.LocalKubelet;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionEvaluationListener;
import org.awaitility.core.ConditionFactory;
import org.awaitility.core.EvaluatedCondition;
import org.awaitility.core.TimeoutEvent;

/**
 * One TrainingRun of an end-to-end test, driven and watched through the API server as a user would
 * ({@code kubectl patch}, {@code kubectl get}), every wait bounded by {@code timeout}; and the
 * helpers the end-to-end tests share (shrunk example configs, checkpoint digests, a reference run).
 */
final class E2eRun {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final KubernetesClient client;
  private final String ns;
  private final String name;
  private final Duration timeout;
  private final Supplier<String> diagnostics;

  /**
   * @param diagnostics printed when a wait times out (pod logs, checkpoints, ...)
   */
  E2eRun(
      KubernetesClient client,
      String ns,
      String name,
      Duration timeout,
      Supplier<String> diagnostics) {
    this.client = client;
    this.ns = ns;
    this.name = name;
    this.timeout = timeout;
    this.diagnostics = diagnostics;
  }

  TrainingRun get() {
    return client.resources(TrainingRun.class).inNamespace(ns).withName(name).get();
  }

  /** Waits until the run has a status that satisfies {@code until}, and returns it. */
  TrainingRun awaitStatus(Predicate<TrainingRun> until, String what) {
    return bounded(what)
        .pollInterval(Duration.ofMillis(100))
        .until(
            this::get,
            t -> {
              try {
                return t != null && t.getStatus() != null && until.test(t);
              } catch (NullPointerException incomplete) {
                return false;
              }
            });
  }

  /** Waits until {@code condition} holds. */
  void awaitTrue(Callable<Boolean> condition, String what) {
    bounded(what).pollInterval(Duration.ofMillis(50)).until(condition);
  }

  /** A wait of at most {@code timeout} that prints the diagnostics when it runs out. */
  private ConditionFactory bounded(String what) {
    return Awaitility.await()
        .alias(name + ": " + what)
        .atMost(timeout)
        .conditionEvaluationListener(
            new ConditionEvaluationListener<Object>() {
              @Override
              public void conditionEvaluated(EvaluatedCondition<Object> condition) {}

              @Override
              public void onTimeout(TimeoutEvent timeout) {
                System.out.println("TIMEOUT " + name + ": " + what + "\n" + diagnostics.get());
              }
            });
  }

  /** Checkpoint {@code <run>-step-<step>}, or null. */
  Checkpoint checkpoint(long step) {
    return client
        .resources(Checkpoint.class)
        .inNamespace(ns)
        .withName(name + "-step-" + step)
        .get();
  }

  /** The run's Checkpoints. */
  List<Checkpoint> checkpoints() {
    return client.resources(Checkpoint.class).inNamespace(ns).list().getItems().stream()
        .filter(c -> c.getSpec() != null && name.equals(c.getSpec().getTrainingRun()))
        .toList();
  }

  /** Steps of the run's Ready Checkpoints that are not being deleted, in order. */
  List<Long> readySteps() {
    return checkpoints().stream()
        .filter(c -> c.getMetadata().getDeletionTimestamp() == null)
        .filter(c -> c.getStatus() != null && c.getStatus().getPhase() == CheckpointPhase.Ready)
        .map(c -> c.getSpec().getStep())
        .sorted()
        .toList();
  }

  /** {@code kubectl patch trainingrun <r> --type merge -p '{"spec":{...}}'}. */
  void patchSpec(Map<String, Object> spec) {
    client
        .resources(TrainingRun.class)
        .inNamespace(ns)
        .withName(name)
        .patch(PatchContext.of(PatchType.JSON_MERGE), Serialization.asJson(Map.of("spec", spec)));
  }

  // --- shared by the end-to-end tests --------------------------------------------------------

  /** The example configs shrunk to a tiny model and a small batch, so a run takes seconds. */
  static String small(String toml) {
    return toml.replace("d-model = 64", "d-model = 16")
        .replace("n-layers = 2", "n-layers = 1")
        .replace("n-heads = 4", "n-heads = 2")
        .replace("d-ff = 256", "d-ff = 32")
        .replace("batch-size = 256", "batch-size = 16")
        .replace("rollouts-per-problem = 8", "rollouts-per-problem = 4");
  }

  /**
   * The example's retention reduced to {@code keep} alone, for tests whose assertions count on it
   * ({@code RetentionProgressE2E} covers keepEvery, keepBest and maxBytes).
   */
  static void keepAlone(TrainingRunSpec spec) {
    spec.getCkpt().setKeepEvery(null);
    spec.getCkpt().setKeepBest(null);
    spec.getCkpt().setMaxBytes(null);
  }

  /** The three configs of an rl spec, {@link #small shrunk}. */
  static void shrinkRl(TrainingRunSpec spec) {
    spec.getTrainer().setConfig(small(spec.getTrainer().getConfig()));
    spec.getOrchestrator().setConfig(small(spec.getOrchestrator().getConfig()));
    spec.getInference().setConfig(small(spec.getInference().getConfig()));
  }

  /** Steps of the complete checkpoints (those with a manifest) in a run directory, in order. */
  static List<Long> completeSteps(Path runDir) throws IOException {
    var dir = runDir.resolve("checkpoints");
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (var list = Files.list(dir)) {
      return list.filter(p -> p.getFileName().toString().matches("step_[0-9]+"))
          .filter(p -> Files.exists(p.resolve("manifest.json")))
          .map(p -> Long.parseLong(p.getFileName().toString().substring(5)))
          .sorted()
          .toList();
    }
  }

  /** {@code checkpoints/step_<step>/manifest.json} of a run directory. */
  static JsonNode manifest(Path runDir, long step) throws IOException {
    return JSON.readTree(runDir.resolve("checkpoints/step_" + step + "/manifest.json").toFile());
  }

  /** Checksums of the trainer's tensor files (model, optimizer) of a checkpoint, by file name. */
  static Map<String, String> tensorDigests(Path runDir, long step) throws IOException {
    var files = new TreeMap<String, String>();
    for (var file : manifest(runDir, step).path("components").path("trainer").path("files")) {
      var path = file.get("path").asText();
      if (path.endsWith(".safetensors")) {
        // The manifest's checksum: CRC32C by default, SHA-256 when asked (and in older manifests).
        var checksum = file.hasNonNull("crc32c") ? file.get("crc32c") : file.get("sha256");
        files.put(path, checksum.asText());
      }
    }
    assertFalse(files.isEmpty(), "tensor files in step " + step);
    return files;
  }

  /**
   * Runs {@code stepwise args...} from the runtime jar to its end, as a user would on a laptop,
   * with output in {@code log}; fails unless it exits 0 within {@code timeout}.
   */
  static void runToEnd(List<String> args, Path log, Duration timeout) throws Exception {
    var command =
        new ArrayList<>(LocalImages.ofCheckout(ControlPlaneBinary.repo()).runtimeCommand());
    command.addAll(args);
    var builder = new ProcessBuilder(command).redirectErrorStream(true);
    // The pods' environment, not the test JVM's: the reference must compute as the pods do.
    builder.environment().clear();
    builder.environment().putAll(LocalKubelet.processEnvironment());
    builder.redirectOutput(log.toFile());
    var process = builder.start();
    if (!process.waitFor(timeout.toSeconds(), TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new AssertionError("stepwise " + args.get(0) + " did not finish in " + timeout);
    }
    assertEquals(0, process.exitValue(), () -> readQuietly(log));
  }

  private static String readQuietly(Path file) {
    try {
      return Files.readString(file);
    } catch (IOException e) {
      return "(no " + file + ")";
    }
  }
}
