package dev.stepwise.operator.e2e;

import dev.stepwise.cluster.LocalCluster;
import dev.stepwise.cluster.controlplane.AuditLog;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The phases of an end-to-end test: each one's duration and the writes the API server's audit log
 * recorded during it, by the operator, by the runtime's checkpoint reporters, and by the controller
 * manager and the kubelet, printed as a BENCHMARK block at the end.
 */
final class Phases {

  /** A phase's body. */
  @FunctionalInterface
  interface Body {
    void run() throws Exception;
  }

  private final AuditLog audit;
  private final String namespace;
  private final Map<String, String> report = new LinkedHashMap<>();

  /** Counts from here on, the runtime's writes in {@code namespace}. */
  Phases(LocalCluster cluster, String namespace) throws IOException {
    this.audit = new AuditLog(cluster.controlPlane().auditLog()).mark();
    this.namespace = namespace;
  }

  void run(String name, Body body) throws Exception {
    var start = System.nanoTime();
    try {
      body.run();
    } finally {
      var seconds = (System.nanoTime() - start) / 1e9;
      var requests = audit.take();
      var operator = AuditLog.writesBy(requests, LocalCluster.operatorUser()::equals);
      var runtime =
          AuditLog.countWrites(
              requests, u -> u.startsWith("system:serviceaccount:" + namespace + ":"));
      var controllers =
          AuditLog.countWrites(requests, u -> u.equals("system:kube-controller-manager"));
      var kubelet = AuditLog.countWrites(requests, u -> u.startsWith("system:node:"));
      report.put(
          name,
          "%.1f s, operator %d writes %s, runtime reporters %d, controller manager %d, kubelet %d"
              .formatted(
                  seconds,
                  operator.values().stream().mapToLong(Long::longValue).sum(),
                  operator,
                  runtime,
                  controllers,
                  kubelet));
    }
  }

  /** Prints every phase run so far under {@code BENCHMARK <title> phases:}. */
  void print(String title) {
    System.out.println("BENCHMARK " + title + " phases (real API server, audit log):");
    report.forEach((k, v) -> System.out.println("  " + k + ": " + v));
  }
}
