package dev.stepwise.operator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.kubernetes.client.KubernetesServer;
import io.quarkus.test.kubernetes.client.KubernetesTestServer;
import io.quarkus.test.kubernetes.client.WithKubernetesTestServer;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The operator's own client (as application.properties configures it) retries a request the API
 * server answered 429 with {@code Retry-After: 1}, or 500, no sooner than a second later: Fabric8
 * alone would retry after 100 ms whatever {@code Retry-After} says.
 */
@QuarkusTest
@WithKubernetesTestServer(crud = true, setup = MockApiServer.class)
class ApiRetryIT {

  private static final Duration RETRY_AFTER = Duration.ofSeconds(1);

  @KubernetesTestServer KubernetesServer server;

  @Inject KubernetesClient operatorClient;

  @Test
  void a429IsRetriedNoSoonerThanItsRetryAfter() throws Exception {
    assertRetriedAfterASecond("throttled", 429);
  }

  @Test
  void a500IsRetriedNoSoonerThanASecond() throws Exception {
    assertRetriedAfterASecond("failing", 500);
  }

  private void assertRetriedAfterASecond(String name, int code) throws Exception {
    var path = "/api/v1/namespaces/retry/configmaps/" + name;
    var mock = server.getKubernetesMockServer();
    mock.expect()
        .get()
        .withPath(path)
        .andReturn(code, "{\"kind\":\"Status\",\"code\":" + code + "}")
        .withHeader("Retry-After", String.valueOf(RETRY_AFTER.toSeconds()))
        .once();
    MockApiServer.drain(mock);

    var start = System.nanoTime();
    var found = operatorClient.configMaps().inNamespace("retry").withName(name).get();
    var took = Duration.ofNanos(System.nanoTime() - start);

    assertEquals(null, found, "the retry reached the (empty) API server");
    var requests = 0;
    RecordedRequest request;
    while ((request = mock.takeRequest(1, TimeUnit.MILLISECONDS)) != null) {
      requests += path.equals(request.getPath()) ? 1 : 0;
    }
    assertEquals(2, requests, "the failed request and its retry");
    assertTrue(took.compareTo(RETRY_AFTER) >= 0, "retried after " + took.toMillis() + " ms");
  }
}
