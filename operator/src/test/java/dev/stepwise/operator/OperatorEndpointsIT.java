package dev.stepwise.operator;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.kubernetes.client.KubernetesServer;
import io.quarkus.test.kubernetes.client.KubernetesTestServer;
import io.quarkus.test.kubernetes.client.WithKubernetesTestServer;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;

/** The endpoints the chart's probes and metrics Service point at. */
@QuarkusTest
@WithKubernetesTestServer(crud = true, setup = MockApiServer.class)
class OperatorEndpointsIT {

  @KubernetesTestServer KubernetesServer server;

  KubernetesClient client() {
    return server.getClient();
  }

  @TestHTTPResource("/q/health/live")
  URI live;

  @TestHTTPResource("/q/health/ready")
  URI ready;

  @TestHTTPResource("/q/metrics")
  URI metrics;

  @Test
  void healthAndMetricsAreServed() throws Exception {
    assertEquals(200, get(live).statusCode());
    var readiness = get(ready);
    assertEquals(200, readiness.statusCode(), readiness.body());
    var prometheus = get(metrics);
    assertEquals(200, prometheus.statusCode());
    assertTrue(prometheus.body().contains("jvm_memory_used_bytes"), "Prometheus text format");
  }

  @Test
  void reconcilesOfTheTrainingRunControllerAreCounted() {
    // given: a run the operator reconciles
    var run = client().resource(Fixtures.example("sft-run.yaml", "endpoints")).create();
    Fixtures.awaitRun(client(), run, r -> r.getStatus().getObservedGeneration() != null);

    // then: JOSDK's counter of started reconciles, tagged with the controller, is served
    await()
        .atMost(Fixtures.TIMEOUT)
        .until(
            () -> get(metrics).body(),
            body ->
                body.lines()
                    .anyMatch(
                        l ->
                            l.startsWith("reconciliations_started_total{")
                                && l.contains("trainingrun")
                                && !l.endsWith(" 0.0")));
  }

  private static HttpResponse<String> get(URI uri) throws IOException, InterruptedException {
    return HttpClient.newHttpClient()
        .send(HttpRequest.newBuilder(uri).GET().build(), HttpResponse.BodyHandlers.ofString());
  }
}
