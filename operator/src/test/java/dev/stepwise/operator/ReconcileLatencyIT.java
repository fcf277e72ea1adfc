package dev.stepwise.operator;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.kubernetes.client.KubernetesServer;
import io.quarkus.test.kubernetes.client.KubernetesTestServer;
import io.quarkus.test.kubernetes.client.WithKubernetesTestServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Benchmark: time from creating an rl TrainingRun to all seven of its children being present on the
 * mock API server, median over 20 runs created one after another. Prints the figures; asserts only
 * that every run got every child.
 */
@QuarkusTest
@WithKubernetesTestServer(crud = true, setup = MockApiServer.class)
class ReconcileLatencyIT {

  static final int RUNS = 20;

  @KubernetesTestServer KubernetesServer server;

  @Test
  void timeFromCreateToAllChildren() {
    var client = server.getClient();
    var ns = "latency";
    var millis = new ArrayList<Double>();
    for (int i = 0; i < RUNS; i++) {
      var run = Fixtures.rlRunAlone(ns);
      var r = "bench-" + i;
      run.getMetadata().setName(r);
      var children = children(r);
      var start = System.nanoTime();
      client.resource(run).create();
      var missing = new HashMap<>(children);
      await()
          .atMost(Fixtures.TIMEOUT)
          .pollInterval(Duration.ofMillis(2))
          .pollDelay(Duration.ZERO)
          .until(() -> allPresent(client, ns, missing));
      millis.add((System.nanoTime() - start) / 1e6);
      assertEquals(Map.of(), missing);
    }
    var sorted = millis.stream().sorted().toList();
    System.out.printf(
        "BENCHMARK create-to-all-children (rl run, 7 children, mock API server): median %.1f ms,"
            + " min %.1f ms, p90 %.1f ms, max %.1f ms over %d runs%n",
        (sorted.get(RUNS / 2 - 1) + sorted.get(RUNS / 2)) / 2,
        sorted.get(0),
        sorted.get((int) Math.ceil(RUNS * 0.9) - 1),
        sorted.get(RUNS - 1),
        RUNS);
  }

  private static Map<String, Class<? extends HasMetadata>> children(String r) {
    return Map.of(
        r + "-config", ConfigMap.class,
        r + "-data", PersistentVolumeClaim.class,
        r + "-trainer", StatefulSet.class,
        r + "-trainer/svc", Service.class,
        r + "-orchestrator", Deployment.class,
        r + "-inference", Deployment.class,
        r + "-inference/svc", Service.class);
  }

  /** Removes from {@code missing} the children that exist now; true when none is missing. */
  private static boolean allPresent(
      KubernetesClient client, String ns, Map<String, Class<? extends HasMetadata>> missing) {
    for (var key : List.copyOf(missing.keySet())) {
      var name = key.replace("/svc", "");
      if (client.resources(missing.get(key)).inNamespace(ns).withName(name).get() != null) {
        missing.remove(key);
      }
    }
    return missing.isEmpty();
  }
}
