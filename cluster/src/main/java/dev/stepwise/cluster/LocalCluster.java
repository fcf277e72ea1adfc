package dev.stepwise.cluster;

import com.marcnuri.helm.Helm;
import dev.stepwise.cluster.controlplane.ControlPlane;
import dev.stepwise.cluster.controlplane.ControlPlaneBinary;
import dev.stepwise.cluster.kubelet.ImageArchives;
import dev.stepwise.cluster.kubelet.LocalImages;
import dev.stepwise.cluster.kubelet.LocalKubelet;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.jboss.logging.Logger;

/**
 * Everything {@code ./stepwise up} starts and the end-to-end tests run on: the control plane
 * (kube-apiserver + etcd, kube-controller-manager), the local kubelet, and Stepwise installed
 * through its Helm chart, the operator running in a pod as the chart's ServiceAccount. In image
 * mode the kubelet runs every pod from its image's OCI archive ({@link ImageArchives}).
 */
public final class LocalCluster implements AutoCloseable {

  private static final Logger LOG = Logger.getLogger(LocalCluster.class);

  /** Namespace and release name of the chart. */
  public static final String OPERATOR_NAMESPACE = "stepwise-system";

  public static final String RELEASE = "stepwise";

  private static final Duration OPERATOR_READY = Duration.ofSeconds(180);

  /** Container waiting reasons that mean a pod will not start by waiting. */
  private static final Set<String> PERMANENT =
      Set.of(
          "ErrImagePull",
          "ImagePullBackOff",
          "InvalidImageName",
          "CreateContainerConfigError",
          "CreateContainerError");

  /** System property (else environment variable {@value #IMAGES_ENV}) that turns on image mode. */
  public static final String IMAGES_PROPERTY = "stepwise.images";

  public static final String IMAGES_ENV = "STEPWISE_IMAGES";

  /**
   * How to start one.
   *
   * @param imageArchives image mode: the directory of the OCI image archives pods run from; null:
   *     pods run as processes of this checkout's artifacts
   */
  public record Options(
      Path repo,
      Path stateDir,
      int apiPort,
      boolean durable,
      Map<String, String> chartValues,
      Path imageArchives) {

    /** Process mode. */
    public Options(
        Path repo, Path stateDir, int apiPort, boolean durable, Map<String, String> chartValues) {
      this(repo, stateDir, apiPort, durable, chartValues, null);
    }

    /**
     * Test defaults: any free port, no fsync, the chart's defaults; image mode when {@value
     * #IMAGES_PROPERTY} or {@value #IMAGES_ENV} asks for it ({@link #imageArchivesFrom}).
     */
    public static Options forTests(Path repo, Path stateDir) {
      var setting = System.getProperty(IMAGES_PROPERTY, System.getenv(IMAGES_ENV));
      return new Options(repo, stateDir, 0, false, Map.of(), imageArchivesFrom(setting, repo));
    }

    /** The same, in image mode with the archives of {@code directory}. */
    public Options withImageArchives(Path directory) {
      return new Options(repo, stateDir, apiPort, durable, chartValues, directory);
    }

    /**
     * The archive directory a setting names: {@code true} (or empty) the checkout's {@code
     * target/images}, {@code false} or null none (process mode), else a directory.
     */
    public static Path imageArchivesFrom(String setting, Path repo) {
      if (setting == null || setting.equalsIgnoreCase("false")) {
        return null;
      }
      return setting.isBlank() || setting.equalsIgnoreCase("true")
          ? ImageArchives.checkoutArchives(repo)
          : Path.of(setting).toAbsolutePath();
    }
  }

  private final Options options;
  private final ControlPlane controlPlane;
  private final KubernetesClient admin;
  private final LocalKubelet kubelet;
  private Duration operatorReady;

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
      var images = LocalImages.ofCheckout(options.repo());
      if (options.imageArchives() != null) {
        images =
            images.withArchives(
                new ImageArchives(options.imageArchives(), ImageArchives.defaultCache()));
      }
      kubelet =
          new LocalKubelet(
                  controlPlane.client(controlPlane.credentials().kubelet()),
                  options.stateDir().resolve("kubelet"),
                  images,
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

  /** From the chart's install to the operator's Deployment being ready. */
  public Duration operatorReadyTime() {
    return operatorReady;
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
    operatorReady = Duration.ofNanos(System.nanoTime() - started);
    LOG.infof(
        "Stepwise installed through its chart, operator ready in %.1f s (%s)",
        operatorReady.toNanos() / 1e9,
        options.imageArchives() == null
            ? "process mode"
            : "image mode, images from " + options.imageArchives());
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
      cannotStart()
          .ifPresent(
              why -> {
                throw new IllegalStateException("the operator cannot start: " + why);
              });
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

  /**
   * Why an operator pod cannot start, when its container waits for a reason that waiting does not
   * cure (its image is missing, its config is wrong).
   */
  private Optional<String> cannotStart() {
    for (var pod : admin.pods().inNamespace(OPERATOR_NAMESPACE).list().getItems()) {
      var statuses = pod.getStatus() == null ? null : pod.getStatus().getContainerStatuses();
      for (var s : statuses == null ? List.<ContainerStatus>of() : statuses) {
        var waiting = s.getState() == null ? null : s.getState().getWaiting();
        if (waiting != null && PERMANENT.contains(waiting.getReason())) {
          return Optional.of(
              "pod "
                  + pod.getMetadata().getName()
                  + ": "
                  + waiting.getReason()
                  + ": "
                  + waiting.getMessage());
        }
      }
    }
    return Optional.empty();
  }

  /** Stops the kubelet's processes, the controller manager and the API server. */
  @Override
  public void close() {
    admin.close();
    kubelet.close();
    controlPlane.close();
  }
}
