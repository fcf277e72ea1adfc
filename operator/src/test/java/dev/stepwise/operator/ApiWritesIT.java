package dev.stepwise.operator;

import static dev.stepwise.operator.Fixtures.awaitPresent;
import static dev.stepwise.operator.Fixtures.awaitRun;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.stepwise.api.RunPhase;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.kubernetes.client.KubernetesServer;
import io.quarkus.test.kubernetes.client.KubernetesTestServer;
import io.quarkus.test.kubernetes.client.WithKubernetesTestServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Counts the writes the operator sends to the API server: for creating one run, and while a Ready
 * run sits idle (there must be none). The idle window is {@code -Dstepwise.idle.seconds} (default
 * 5).
 */
@QuarkusTest
@WithKubernetesTestServer(crud = true, setup = MockApiServer.class)
class ApiWritesIT {

  @KubernetesTestServer KubernetesServer server;

  KubernetesClient client() {
    return server.getClient();
  }

  @Test
  void creatingARunWritesEachChildOnceAndAnIdleRunWritesNothing() {
    var ns = "writes";
    var mock = server.getKubernetesMockServer();
    var settle = Duration.ofSeconds(2);
    await().atMost(Fixtures.TIMEOUT).during(settle).until(() -> quiet(new ArrayList<>()));

    var run = client().resource(Fixtures.rlRunAlone(ns)).create();
    var r = run.getMetadata().getName();
    awaitPresent(client(), Service.class, ns, r + "-inference");
    awaitRun(client(), run, t -> t.getStatus().getObservedGeneration() != null);
    var creation = new ArrayList<String>();
    await().atMost(Fixtures.TIMEOUT).during(settle).until(() -> quiet(creation));
    System.out.printf(
        "BENCHMARK api-writes-create-rl-run: %d writes%n  %s%n",
        creation.size(), String.join("\n  ", creation));
    var childCreates =
        creation.stream()
            .filter(w -> w.startsWith("POST") && !w.contains("/events"))
            .map(w -> w.substring(w.lastIndexOf('/') + 1))
            .sorted()
            .toList();
    assertEquals(
        List.of(
            "configmaps",
            "deployments",
            "deployments",
            "persistentvolumeclaims",
            "rolebindings",
            "roles",
            "serviceaccounts",
            "services",
            "services",
            "statefulsets"),
        childCreates,
        "each child is created once: " + creation);
    assertEquals(
        List.of(),
        creation.stream().filter(w -> w.startsWith("PUT")).toList(),
        "nothing is rewritten while the run is created");

    Fixtures.trainerPodsReady(client(), ns, r + "-trainer");
    Fixtures.deploymentPodsReady(client(), ns, r + "-orchestrator");
    Fixtures.deploymentPodsReady(client(), ns, r + "-inference");
    awaitRun(client(), run, t -> t.getStatus().getPhase() == RunPhase.Running);
    await().atMost(Fixtures.TIMEOUT).during(settle).until(() -> quiet(new ArrayList<>()));

    var idle = Duration.ofSeconds(Long.getLong("stepwise.idle.seconds", 5));
    var idleWrites = new ArrayList<String>();
    await()
        .atMost(idle.plusSeconds(10))
        .during(idle)
        .until(
            () -> {
              idleWrites.addAll(MockApiServer.takeWrites(mock));
              return idleWrites;
            },
            List::isEmpty);
    System.out.printf(
        "BENCHMARK api-writes-idle: %d writes in %d s with a Ready rl run (and every earlier"
            + " test's runs) under management%n",
        idleWrites.size(), idle.toSeconds());
    assertEquals(List.of(), idleWrites);
  }

  @Test
  void eachStatusWriteReadsTheRunOnce() {
    var ns = "status-reads";
    var mock = server.getKubernetesMockServer();
    var run = client().resource(Fixtures.rlRunAlone(ns)).create();
    var path =
        "/apis/%s/namespaces/%s/trainingruns/%s"
            .formatted(run.getApiVersion(), ns, run.getMetadata().getName());
    var statusWrite = "PATCH " + path + "/status";
    var requests = new ArrayList<String>();
    // Only the operator sends requests for this run after its create (no polling here): until
    // its status was written and nothing more came for 2 s.
    await()
        .atMost(Fixtures.TIMEOUT)
        .during(Duration.ofSeconds(2))
        .until(
            () -> {
              var taken = MockApiServer.takeRequests(mock);
              requests.addAll(taken);
              return requests.contains(statusWrite)
                  && taken.stream().noneMatch(r -> r.contains(path));
            });
    var reads = requests.stream().filter(r -> r.equals("GET " + path)).count();
    var statusWrites = requests.stream().filter(statusWrite::equals).count();
    assertEquals(statusWrites, reads, "one GET of the run per status write: " + requests);
  }

  /** Moves the writes recorded so far into {@code into}; true when there were none. */
  private boolean quiet(List<String> into) {
    var writes = MockApiServer.takeWrites(server.getKubernetesMockServer());
    into.addAll(writes);
    return writes.isEmpty();
  }
}
