package dev.stepwise.operator.e2e;

import dev.stepwise.cluster.FileTrees;
import dev.stepwise.cluster.LocalCluster;
import dev.stepwise.cluster.controlplane.ControlPlaneBinary;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * The local cluster every end-to-end test of this JVM runs on, started on first use: the real
 * control plane, the local kubelet, and Stepwise installed through its Helm chart, the operator
 * running in its pod as the chart's ServiceAccount. State under {@code target/e2e-cluster}.
 */
final class RealCluster {

  private static LocalCluster cluster;

  private RealCluster() {}

  static synchronized LocalCluster get() {
    if (cluster == null) {
      try {
        var repo = ControlPlaneBinary.repo();
        // -Dstepwise.e2e.cluster=<dir> lets two test JVMs each run a cluster of their own.
        var state =
            repo.resolve(System.getProperty("stepwise.e2e.cluster", "operator/target/e2e-cluster"));
        FileTrees.delete(state);
        cluster = LocalCluster.start(LocalCluster.Options.forTests(repo, state));
        Runtime.getRuntime().addShutdownHook(new Thread(cluster::close, "e2e-cluster-stop"));
      } catch (IOException e) {
        throw new UncheckedIOException("the local cluster did not start", e);
      }
    }
    return cluster;
  }

  /** Creates namespace {@code name} (the real API server refuses objects in a missing one). */
  static String namespace(String name) {
    get()
        .client()
        .resource(new NamespaceBuilder().withNewMetadata().withName(name).endMetadata().build())
        .create();
    return name;
  }
}
