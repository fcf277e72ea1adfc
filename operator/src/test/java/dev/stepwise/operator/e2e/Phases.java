package dev.stepwise.operator.e2e;

import dev.stepwise.operator.MockApiServer;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * The phases of an end-to-end test: each one's duration and the writes the API server received
 * during it, by method and resource, printed as a BENCHMARK block at the end.
 */
final class Phases {

  /** A phase's body. */
  @FunctionalInterface
  interface Body {
    void run() throws Exception;
  }

  private final KubernetesMockServer server;
  private final Map<String, String> report = new LinkedHashMap<>();

  /** Forgets the requests the server received so far: the first phase counts from here. */
  Phases(KubernetesMockServer server) {
    this.server = server;
    MockApiServer.drain(server);
  }

  void run(String name, Body body) throws Exception {
    var start = System.nanoTime();
    try {
      body.run();
    } finally {
      var seconds = (System.nanoTime() - start) / 1e9;
      var writes = MockApiServer.takeWrites(server);
      var byKind =
          writes.stream()
              .collect(
                  Collectors.groupingBy(Phases::writeKind, TreeMap::new, Collectors.counting()));
      report.put(name, "%.1f s, %d API writes %s".formatted(seconds, writes.size(), byKind));
    }
  }

  /** Prints every phase run so far under {@code BENCHMARK <title> phases:}. */
  void print(String title) {
    System.out.println("BENCHMARK " + title + " phases:");
    report.forEach((k, v) -> System.out.println("  " + k + ": " + v));
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
}
