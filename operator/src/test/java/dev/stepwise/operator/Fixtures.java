package dev.stepwise.operator;

import static org.awaitility.Awaitility.await;

import dev.stepwise.api.Checkpoint;
import dev.stepwise.api.CheckpointSpec;
import dev.stepwise.api.TrainingRun;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.apps.DeploymentStatusBuilder;
import io.fabric8.kubernetes.api.model.apps.StatefulSetStatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.awaitility.core.ConditionTimeoutException;

/** The example runs as test fixtures, and the parts of a cluster the mock server lacks. */
public final class Fixtures {

  static final Duration TIMEOUT = Duration.ofSeconds(20);

  private Fixtures() {}

  /** examples/{file} as a TrainingRun in {@code namespace}. */
  public static TrainingRun example(String file, String namespace) {
    var dir = Path.of(System.getProperty("stepwise.examples", "../examples"));
    try (var in = Files.newInputStream(dir.resolve(file))) {
      var run = Serialization.unmarshal(in, TrainingRun.class);
      run.getMetadata().setNamespace(namespace);
      return run;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * examples/rl-run.yaml without its spec.init: an RL run from random weights, which needs no SFT
   * run beside it (TrainingRunValidationIT and InitFromSftE2E cover spec.init).
   */
  public static TrainingRun rlRunAlone(String namespace) {
    var run = example("rl-run.yaml", namespace);
    run.getSpec().setInit(null);
    return run;
  }

  static <T extends HasMetadata> T awaitPresent(
      KubernetesClient client, Class<T> type, String ns, String name) {
    return await()
        .atMost(TIMEOUT)
        .pollInterval(Duration.ofMillis(20))
        .until(() -> client.resources(type).inNamespace(ns).withName(name).get(), r -> r != null);
  }

  /**
   * Waits until {@code run} has a status that {@code until} accepts; on timeout the failure shows
   * that status and the namespace's Events, so a failure can be read without a rerun.
   */
  static TrainingRun awaitRun(
      KubernetesClient client, TrainingRun run, java.util.function.Predicate<TrainingRun> until) {
    var ns = run.getMetadata().getNamespace();
    var name = run.getMetadata().getName();
    try {
      return await()
          .atMost(TIMEOUT)
          .pollInterval(Duration.ofMillis(20))
          .until(
              () -> client.resources(TrainingRun.class).inNamespace(ns).withName(name).get(),
              r -> r != null && r.getStatus() != null && until.test(r));
    } catch (ConditionTimeoutException e) {
      var last = client.resources(TrainingRun.class).inNamespace(ns).withName(name).get();
      var events =
          client.v1().events().inNamespace(ns).list().getItems().stream()
              .map(
                  ev ->
                      ev.getReason()
                          + " "
                          + ev.getInvolvedObject().getName()
                          + ": "
                          + ev.getMessage())
              .toList();
      throw new AssertionError(
          "TrainingRun %s/%s did not reach the awaited status within %s; generation %s, status:%n%s%nEvents: %s"
              .formatted(
                  ns,
                  name,
                  TIMEOUT,
                  last == null ? null : last.getMetadata().getGeneration(),
                  last == null ? "(gone)" : Serialization.asYaml(last.getStatus()),
                  events),
          e);
    }
  }

  /** Plays the StatefulSet controller and kubelet: reports every wanted trainer pod ready. */
  static void trainerPodsReady(KubernetesClient client, String ns, String name) {
    var sts = client.apps().statefulSets().inNamespace(ns).withName(name);
    var replicas = sts.get().getSpec().getReplicas();
    sts.editStatus(
        s -> {
          s.setStatus(
              new StatefulSetStatusBuilder()
                  .withReplicas(replicas)
                  .withReadyReplicas(replicas)
                  .build());
          return s;
        });
  }

  /** Plays the Deployment controller and kubelet: reports every wanted pod ready. */
  static void deploymentPodsReady(KubernetesClient client, String ns, String name) {
    var deployment = client.apps().deployments().inNamespace(ns).withName(name);
    var replicas = deployment.get().getSpec().getReplicas();
    deployment.editStatus(
        d -> {
          d.setStatus(
              new DeploymentStatusBuilder()
                  .withReplicas(replicas)
                  .withReadyReplicas(replicas)
                  .withAvailableReplicas(replicas)
                  .build());
          return d;
        });
  }

  /** Creates Checkpoint {@code <run>-step-<step>} of {@code run}, without a status. */
  static void createCheckpoint(KubernetesClient client, String ns, String run, long step) {
    var checkpoint = new Checkpoint();
    checkpoint.setMetadata(
        new ObjectMetaBuilder().withName(run + "-step-" + step).withNamespace(ns).build());
    var spec = new CheckpointSpec();
    spec.setTrainingRun(run);
    spec.setStep(step);
    checkpoint.setSpec(spec);
    client.resource(checkpoint).create();
  }

  /**
   * Sets the status of Checkpoint {@code <run>-step-<step>} (timeline 0) as the runtime's report
   * does, without a resourceVersion: the operator may be adding its finalizer at the same time.
   */
  static void reportCheckpoint(
      KubernetesClient client, String ns, String run, long step, String phase, String completedAt) {
    client
        .resources(Checkpoint.class)
        .inNamespace(ns)
        .withName(run + "-step-" + step)
        .subresource("status")
        .patch(
            PatchContext.of(PatchType.JSON_MERGE),
            "{\"status\":{\"phase\":\"%s\",\"timeline\":0,\"completedAt\":\"%s\"}}"
                .formatted(phase, completedAt));
  }
}
