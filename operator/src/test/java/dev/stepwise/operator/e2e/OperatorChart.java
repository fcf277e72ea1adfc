package dev.stepwise.operator.e2e;

import com.marcnuri.helm.Helm;
import dev.stepwise.cluster.LocalCluster;
import dev.stepwise.cluster.controlplane.ControlPlaneBinary;
import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import org.awaitility.Awaitility;

/**
 * The operator's chart release of the local cluster, upgraded in place by the tests that run the
 * operator differently for a while (two replicas, behind a proxy), and put back afterwards.
 */
final class OperatorChart {

  private static final Duration WAIT = Duration.ofMinutes(5);

  private OperatorChart() {}

  /** The chart upgraded in place with {@code values} (the rest at the chart's defaults). */
  static void upgrade(LocalCluster cluster, Map<String, String> values) throws IOException {
    var upgrade =
        new Helm(ControlPlaneBinary.repo().resolve("helm/stepwise"))
            .upgrade()
            .withName(LocalCluster.RELEASE)
            .withNamespace(LocalCluster.OPERATOR_NAMESPACE)
            .withKubeConfig(cluster.kubeconfig());
    values.forEach(upgrade::set);
    upgrade.call();
  }

  /** Waits for the Deployment to have exactly {@code replicas} updated pods, all ready. */
  static void awaitOperators(LocalCluster cluster, int replicas) {
    Awaitility.await()
        .alias(replicas + " operator pods ready")
        .atMost(WAIT)
        .pollInterval(Duration.ofMillis(200))
        .until(
            () -> {
              var d =
                  cluster
                      .client()
                      .apps()
                      .deployments()
                      .inNamespace(LocalCluster.OPERATOR_NAMESPACE)
                      .withName(LocalCluster.RELEASE)
                      .get();
              var s = d.getStatus();
              return s != null
                  && s.getObservedGeneration() != null
                  && s.getObservedGeneration() >= d.getMetadata().getGeneration()
                  && Integer.valueOf(replicas).equals(s.getReplicas())
                  && Integer.valueOf(replicas).equals(s.getUpdatedReplicas())
                  && Integer.valueOf(replicas).equals(s.getReadyReplicas())
                  && cluster.kubelet().processes(LocalCluster.OPERATOR_NAMESPACE).size()
                      == replicas;
            });
  }
}
