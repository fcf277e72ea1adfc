package dev.stepwise.operator;

import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.quarkus.test.kubernetes.client.KubernetesServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Prepares the Fabric8 mock API server before Quarkus starts: loads the committed CRDs (the same
 * files the chart installs), and counts the write requests it receives.
 */
public class MockApiServer implements Consumer<KubernetesServer> {

  private static final Set<String> WRITES = Set.of("POST", "PUT", "PATCH", "DELETE");

  @Override
  public void accept(KubernetesServer server) {
    var dir = Path.of(System.getProperty("stepwise.crds", "../helm/stepwise/crds"));
    try (var files = Files.list(dir)) {
      for (var file : files.filter(f -> f.toString().endsWith(".yml")).sorted().toList()) {
        var crd =
            server
                .getClient()
                .apiextensions()
                .v1()
                .customResourceDefinitions()
                .load(file.toFile())
                .item();
        server.getClient().resource(crd).create();
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the CRDs in " + dir, e);
    }
  }

  /** Forgets every request recorded so far. */
  public static void drain(KubernetesMockServer server) {
    takeRequests(server);
  }

  /** Takes every request recorded so far, as "METHOD path". */
  public static List<String> takeRequests(KubernetesMockServer server) {
    var requests = new ArrayList<String>();
    try {
      RecordedRequest request;
      while ((request = server.takeRequest(1, TimeUnit.MILLISECONDS)) != null) {
        requests.add(request.getMethod() + " " + request.getPath());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return requests;
  }

  /**
   * Takes every request recorded so far and returns the writes among them as "METHOD path", leaving
   * out the test's own writes to TrainingRuns (the operator writes only their status).
   */
  public static List<String> takeWrites(KubernetesMockServer server) {
    return takeRequests(server).stream()
        .filter(
            request -> {
              var method = request.substring(0, request.indexOf(' '));
              var ownWrite = request.contains("/trainingruns") && !request.contains("/status");
              return WRITES.contains(method) && !ownWrite;
            })
        .toList();
  }
}
