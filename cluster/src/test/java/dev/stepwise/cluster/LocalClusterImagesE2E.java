package dev.stepwise.cluster;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.cluster.controlplane.ControlPlaneBinary;
import dev.stepwise.cluster.kubelet.ImageArchives;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The whole stack in image mode ({@code ./stepwise up --images}): the chart installs the operator,
 * whose pod runs from the operator image's OCI archive as the chart's ServiceAccount and reaches
 * the API server; examples/sft-run.yaml's trainer runs from the runtime image's archive, writes its
 * checkpoints onto the run's claim and reports them to the API server as the run's ServiceAccount;
 * retention deletes the oldest through a cleanup Job (another runtime-image pod); the run Succeeds.
 * Needs the archives of {@code python3 images/build.py operator runtime} and fails without them.
 */
class LocalClusterImagesE2E {

  private static final Duration TRAINING = Duration.ofSeconds(300);
  private static final String GROUP_VERSION = "stepwise.dev/v1alpha1";

  @Test
  void anSftRunSucceedsWithEveryPodRunFromItsImage() throws Exception {
    var repo = ControlPlaneBinary.repo();
    var archives = ImageArchives.checkoutArchives(repo);
    var chartVersion =
        match(
            Files.readString(repo.resolve("helm/stepwise/Chart.yaml")),
            "appVersion:\\s*\"?([^\"\\s]+)");
    var example = Files.readString(repo.resolve("examples/sft-run.yaml"));
    var images =
        new String[] {
          "ghcr.io/stepwise-dev/stepwise-operator:" + chartVersion,
          match(example, "(?m)^\\s+image:\\s*(\\S+)")
        };
    var found = new ImageArchives(archives, ImageArchives.defaultCache());
    for (var image : images) {
      assertTrue(
          found.archive(image).isPresent(),
          "image mode needs the OCI archive of "
              + image
              + " in "
              + archives
              + " (it holds "
              + found.references()
              + "): build it first with `python3 images/build.py operator runtime`");
    }

    var state = repo.resolve("cluster/target/e2e-images-cluster");
    FileTrees.delete(state);
    try (var cluster =
        LocalCluster.start(
            LocalCluster.Options.forTests(repo, state).withImageArchives(archives))) {
      var client = cluster.client();
      var kubelet = cluster.kubelet();
      var operator = kubelet.processes(LocalCluster.OPERATOR_NAMESPACE).values();
      assertEquals(1, operator.size(), "one operator pod");
      var command = String.join(" ", operator.iterator().next().command());
      assertTrue(command.contains("stepwise-container --rootfs "), "from its image: " + command);

      var ns = "images-sft";
      client
          .resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build())
          .create();
      var run =
          client.getKubernetesSerialization().unmarshal(example, GenericKubernetesResource.class);
      run.getMetadata().setNamespace(ns);
      @SuppressWarnings("unchecked")
      var spec = (Map<String, Object>) run.getAdditionalProperties().get("spec");
      spec.put("maxSteps", 6);
      spec.put("ckpt", Map.of("interval", 2, "keep", 2));
      var name = run.getMetadata().getName();
      var runs = client.genericKubernetesResources(GROUP_VERSION, "TrainingRun").inNamespace(ns);
      var checkpoints =
          client.genericKubernetesResources(GROUP_VERSION, "Checkpoint").inNamespace(ns);

      var started = System.nanoTime();
      runs.resource(run).create();
      Duration[] running = {null};
      await()
          .atMost(TRAINING)
          .pollInterval(Duration.ofMillis(200))
          .failFast("the run failed", () -> "Failed".equals(phase(runs.withName(name).get())))
          .until(
              () -> {
                var phase = phase(runs.withName(name).get());
                if (running[0] == null && ("Running".equals(phase) || "Succeeded".equals(phase))) {
                  running[0] = Duration.ofNanos(System.nanoTime() - started);
                }
                return "Succeeded".equals(phase);
              });
      var succeeded = Duration.ofNanos(System.nanoTime() - started);

      // Checkpoints reported by the trainer, step 2 retired by retention (keep 2) and its data
      // deleted by the cleanup Job.
      var claim = kubelet.claimDirectory(ns, name + "-data");
      await()
          .atMost(TRAINING)
          .untilAsserted(
              () -> {
                var ready = new TreeSet<Long>();
                for (var c : checkpoints.list().getItems()) {
                  if ("Ready".equals(phase(c))) {
                    ready.add(((Number) ((Map<?, ?>) c.get("spec")).get("step")).longValue());
                  }
                }
                assertEquals(new TreeSet<>(java.util.List.of(4L, 6L)), ready, "Ready Checkpoints");
                assertTrue(
                    !Files.exists(claim.resolve("checkpoints/step_2")),
                    "step_2's data deleted by the cleanup Job");
              });
      assertTrue(Files.isRegularFile(claim.resolve("checkpoints/step_6/manifest.json")));
      var trainerLog = kubelet.logs(ns, name + "-trainer");
      assertTrue(trainerLog.contains("stepwise-container --rootfs"), "trainer from its image");
      var cleanupLog = kubelet.logs(ns, name + "-cleanup");
      assertTrue(
          cleanupLog.contains("stepwise-container --rootfs"),
          "the cleanup Job's pod ran from its image: " + cleanupLog);

      System.out.printf(
          "BENCHMARK image mode, whole stack: operator installed -> ready %.1f s; sft run"
              + " (%s steps) create -> Running %.1f s, -> Succeeded %.1f s%n",
          cluster.operatorReadyTime().toMillis() / 1e3,
          spec.get("maxSteps"),
          running[0].toMillis() / 1e3,
          succeeded.toMillis() / 1e3);
    }
  }

  private static String phase(GenericKubernetesResource resource) {
    if (resource == null || !(resource.get("status") instanceof Map<?, ?> status)) {
      return null;
    }
    var phase = status.get("phase");
    return phase == null ? null : phase.toString();
  }

  private static String match(String text, String regex) {
    var matcher = Pattern.compile(regex).matcher(text);
    assertTrue(matcher.find(), regex + " in\n" + text);
    return matcher.group(1);
  }
}
