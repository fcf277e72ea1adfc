package dev.stepwise.cluster;

import com.marcnuri.helm.Helm;
import dev.stepwise.cluster.controlplane.ControlPlane;
import dev.stepwise.cluster.controlplane.ControlPlaneBinary;
import dev.stepwise.cluster.kubelet.LocalImages;
import dev.stepwise.cluster.kubelet.LocalKubelet;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jboss.logging.Logger;

/**
 * Everything {@code ./stepwise up} starts and the end-to-end tests run on: the control plane
 * (kube-apiserver + etcd, kube-controller-manager), the local kubelet, and Stepwise installed
 * through its Helm chart, the operator running in a pod as the chart's ServiceAccount.
 */
public final class LocalCluster implements AutoCloseable {

  private static final Logger LOG = Logger.getLogger(LocalCluster.class);

  /** Namespace and release name of the chart. */
  public static final String OPERATOR_NAMESPACE = "stepwise-system";

  public static final String RELEASE = "stepwise";

  private static final Duration OPERATOR_READY = Duration.ofSeconds(180);

  /** How to start one. */
  public record Options(
      Path repo, Path stateDir, int apiPort, boolean durable, Map<String, String> chartValues) {

    /** Test defaults: any free port, no fsync, the chart's defaults. */
    public static Options forTests(Path repo, Path stateDir) {
      return new Options(repo, stateDir, 0, false, Map.of());
    }
  }

  private final Options options;
  private final ControlPlane controlPlane;
  private final KubernetesClient admin;
  private final LocalKubelet kubelet;

  private LocalCluster(Options options, ControlPlane controlPlane, LocalKubelet kubelet)
      throws IOException {
    this.options = options;
    this.controlPlane = controlPlane;
    this.admin = controlPlane.client(controlPlane.credentials().admin());
    this.kubelet = kubelet;
  }

  /** Starts the control plane and the kubelet, installs the chart, waits for the operator. */
  public static LocalCluster start(Options options) throws IOException {
    var binary = ControlPlaneBinary.resolve(options.repo());
    var started = System.nanoTime();
    var controlPlane =
        ControlPlane.start(
            options.stateDir().resolve("controlplane"),
            binary,
            options.apiPort(),
            options.durable());
    LocalKubelet kubelet = null;
    try {
      kubelet =
          new LocalKubelet(
                  controlPlane.client(controlPlane.credentials().kubelet()),
                  options.stateDir().resolve("kubelet"),
                  LocalImages.ofCheckout(options.repo()),
                  controlPlane.apiPort())
              .start();
      var cluster = new LocalCluster(options, controlPlane, kubelet);
      LOG.infof("control plane and kubelet up in %.1f s", (System.nanoTime() - started) / 1e9);
      cluster.installChart();
      return cluster;
    } catch (IOException | RuntimeException e) {
      if (kubelet != null) {
        kubelet.close();
      }
      controlPlane.close();
      throw e;
    }
  }

  /** A client as the cluster admin. */
  public KubernetesClient client() {
    return admin;
  }

  public ControlPlane controlPlane() {
    return controlPlane;
  }

  public LocalKubelet kubelet() {
    return kubelet;
  }

  /** The admin kubeconfig (for kubectl). */
  public Path kubeconfig() {
    return controlPlane.adminKubeconfig();
  }

  /** The operator's ServiceAccount as a user name, as the audit log records it. */
  public static String operatorUser() {
    return "system:serviceaccount:" + OPERATOR_NAMESPACE + ":" + RELEASE;
  }

  private void installChart() {
    var values = new LinkedHashMap<String, String>();
    // One replica on one machine: leader election would only add Lease writes.
    values.put("leaderElection.enabled", "false");
    values.putAll(options.chartValues());
    var install =
        new Helm(options.repo().resolve("helm/stepwise"))
            .install()
            .withName(RELEASE)
            .withNamespace(OPERATOR_NAMESPACE)
            .createNamespace()
            .withKubeConfig(kubeconfig());
    values.forEach(install::set);
    var started = System.nanoTime();
    install.call();
    awaitOperator();
    LOG.infof(
        "Stepwise installed through its chart, operator ready in %.1f s",
        (System.nanoTime() - started) / 1e9);
  }

  private void awaitOperator() {
    var deadline = System.nanoTime() + OPERATOR_READY.toNanos();
    while (System.nanoTime() < deadline) {
      var deployment =
          admin.apps().deployments().inNamespace(OPERATOR_NAMESPACE).withName(RELEASE).get();
      var status = deployment == null ? null : deployment.getStatus();
      if (status != null
          && status.getReadyReplicas() != null
          && status.getReadyReplicas() >= 1
          && status.getObservedGeneration() != null
          && status.getObservedGeneration() >= deployment.getMetadata().getGeneration()) {
        return;
      }
      try {
        Thread.sleep(200);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for the operator", e);
      }
    }
    throw new IllegalStateException(
        "the operator did not become ready in "
            + OPERATOR_READY.toSeconds()
            + " s; its pod's log:\n"
            + kubelet.logTails(OPERATOR_NAMESPACE, 40));
  }

  /** Stops the kubelet's processes, the controller manager and the API server. */
  @Override
  public void close() {
    admin.close();
    kubelet.close();
    controlPlane.close();
  }
}
