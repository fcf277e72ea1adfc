package dev.stepwise.cluster.controlplane;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.jboss.logging.Logger;

/**
 * A real Kubernetes control plane on this machine: kube-apiserver with etcd embedded in one process
 * and kube-controller-manager in another, both from the {@code stepwise-controlplane} binary
 * ({@link ControlPlaneBinary}). All state (etcd data, certificates, keys, tokens, audit log, logs,
 * kubeconfigs, pid files) lives under one directory, so a stopped API server restarts on the same
 * data.
 *
 * <pre>
 * dir/etcd/                 etcd data           dir/pki/       serving cert, SA keys, tokens.csv
 * dir/admin.kubeconfig      cluster admin       dir/logs/      apiserver.log, controller-manager.log
 * dir/audit.log             Metadata-level audit of every request   dir/pids/   pid files
 * </pre>
 */
public final class ControlPlane implements AutoCloseable {

  private static final Logger LOG = Logger.getLogger(ControlPlane.class);

  /** The Kubernetes version the binary is built from (controlplane/go.mod). */
  public static final String KUBERNETES_VERSION = "v1.37.2";

  /** Marker in the command line of every control-plane process (used by {@code down}). */
  public static final String PROCESS_MARKER = "stepwise-controlplane";

  private static final Duration READY_TIMEOUT = Duration.ofSeconds(120);
  private static final Duration STOP_GRACE = Duration.ofSeconds(10);

  private final Path dir;
  private final Path binary;
  private final int apiPort;
  private final int etcdPort;
  private final int etcdPeerPort;
  private final boolean durable;
  private final Credentials credentials;
  private ManagedProcess apiServer;
  private ManagedProcess controllerManager;

  private ControlPlane(Path dir, Path binary, int apiPort, boolean durable) throws IOException {
    this.dir = dir.toAbsolutePath();
    this.binary = binary;
    this.apiPort = apiPort == 0 ? freePort() : apiPort;
    this.etcdPort = freePort();
    this.etcdPeerPort = freePort();
    this.durable = durable;
    this.credentials = Credentials.in(this.dir.resolve("pki"));
  }

  /**
   * Starts a control plane keeping its state under {@code dir}, the API server on 127.0.0.1:{@code
   * apiPort} (0: any free port); returns once {@code /readyz} answers ok and the controller manager
   * runs.
   *
   * @param durable whether etcd fsyncs (a user's cluster) or not (throwaway test data)
   */
  public static ControlPlane start(Path dir, Path binary, int apiPort, boolean durable)
      throws IOException {
    var plane = new ControlPlane(dir, binary, apiPort, durable);
    try {
      plane.writeAuditPolicy();
      plane.startApiServer();
      plane.writeKubeconfigs();
      plane.startControllerManager();
      return plane;
    } catch (IOException | RuntimeException e) {
      plane.close();
      throw e;
    }
  }

  /** The API server's URL. */
  public String url() {
    return "https://127.0.0.1:" + apiPort;
  }

  public int apiPort() {
    return apiPort;
  }

  public Path dir() {
    return dir;
  }

  public Credentials credentials() {
    return credentials;
  }

  /** The CA that signed the API server's serving certificate (self-signed by the API server). */
  public Path caFile() {
    return dir.resolve("pki/apiserver.crt");
  }

  /** A kubeconfig of the cluster admin, for kubectl and helm. */
  public Path adminKubeconfig() {
    return dir.resolve("admin.kubeconfig");
  }

  /** The audit log: one JSON line per request at the {@code Metadata} level. */
  public Path auditLog() {
    return dir.resolve("audit.log");
  }

  public ManagedProcess apiServerProcess() {
    return apiServer;
  }

  public ManagedProcess controllerManagerProcess() {
    return controllerManager;
  }

  /** A Fabric8 client as {@code identity}. */
  public KubernetesClient client(Credentials.Identity identity) {
    return new KubernetesClientBuilder().withConfig(config(identity)).build();
  }

  /** The Fabric8 configuration of a client as {@code identity} (no kubeconfig is read). */
  public Config config(Credentials.Identity identity) {
    try {
      return new ConfigBuilder(Config.empty())
          .withMasterUrl(url())
          .withCaCertData(Base64.getEncoder().encodeToString(Files.readAllBytes(caFile())))
          .withOauthToken(identity.token())
          .withRequestRetryBackoffLimit(5)
          .build();
    } catch (IOException e) {
      throw new IllegalStateException("cannot read the API server's CA " + caFile(), e);
    }
  }

  /** Stops the API server (SIGTERM; etcd with it), as for an API server restart. */
  public void stopApiServer() {
    if (apiServer != null) {
      apiServer.stop(STOP_GRACE);
    }
  }

  /** SIGKILLs the API server process, as a crash. */
  public void killApiServer() {
    if (apiServer != null) {
      apiServer.kill();
    }
  }

  /** Starts the API server again on the same port and data; returns once it is ready. */
  public void startApiServer() throws IOException {
    var flags = new ArrayList<String>();
    flags.add(binary.toString());
    flags.add("apiserver");
    flags.add("--etcd-dir=" + dir.resolve("etcd"));
    flags.add("--etcd-port=" + etcdPort);
    flags.add("--etcd-peer-port=" + etcdPeerPort);
    if (!durable) {
      flags.add("--etcd-no-fsync");
    }
    flags.add("--");
    flags.addAll(
        List.of(
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            // A single local API server: there is no Service endpoint to reconcile.
            "--endpoint-reconciler-type=none",
            "--secure-port=" + apiPort,
            "--cert-dir=" + dir.resolve("pki"),
            "--token-auth-file=" + credentials.tokenFile(),
            "--authorization-mode=RBAC",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            "--service-account-key-file=" + credentials.verifyingKey(),
            "--service-account-signing-key-file=" + credentials.signingKey(),
            "--service-cluster-ip-range=10.96.0.0/16",
            "--allow-privileged=true",
            "--audit-log-path=" + auditLog(),
            "--audit-policy-file=" + dir.resolve("audit-policy.yaml"),
            "--audit-log-maxsize=0",
            "--profiling=false"));
    apiServer =
        ManagedProcess.start(
            "apiserver", flags, Map.of(), dir.resolve("logs/apiserver.log"), dir.resolve("pids"));
    awaitReady(apiServer);
  }

  private void startControllerManager() throws IOException {
    var kubeconfig = dir.resolve("controller-manager.kubeconfig").toString();
    var flags =
        List.of(
            binary.toString(),
            "controller-manager",
            "--kubeconfig=" + kubeconfig,
            "--authentication-kubeconfig=" + kubeconfig,
            "--authorization-kubeconfig=" + kubeconfig,
            "--leader-elect=false",
            "--bind-address=127.0.0.1",
            "--secure-port=0",
            "--service-account-private-key-file=" + credentials.signingKey(),
            "--root-ca-file=" + caFile(),
            "--service-cluster-ip-range=10.96.0.0/16",
            "--use-service-account-credentials=false",
            // It publishes the API server's serving CA as a ClusterTrustBundle, which must be a
            // CA; the self-signed serving certificate here is not one, so it would only retry.
            "--controllers=*,-kube-apiserver-serving-clustertrustbundle-publisher-controller");
    controllerManager =
        ManagedProcess.start(
            "controller-manager",
            flags,
            Map.of(),
            dir.resolve("logs/controller-manager.log"),
            dir.resolve("pids"));
  }

  private void awaitReady(ManagedProcess process) throws IOException {
    var deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
    HttpClient http = null;
    String last = "not started";
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IOException(
            "kube-apiserver exited with "
                + process.exitCode().orElse(-1)
                + "; its log ("
                + process.log()
                + ") ends:\n"
                + process.logTail(15));
      }
      try {
        if (http == null && Files.exists(caFile())) {
          http = HttpClient.newBuilder().sslContext(trusting(caFile())).build();
        }
        if (http != null) {
          var response =
              http.send(
                  HttpRequest.newBuilder(URI.create(url() + "/readyz"))
                      .header("Authorization", "Bearer " + credentials.admin().token())
                      .timeout(Duration.ofSeconds(2))
                      .build(),
                  HttpResponse.BodyHandlers.ofString());
          if (response.statusCode() == 200) {
            LOG.debugf("kube-apiserver ready at %s", url());
            return;
          }
          last = "HTTP " + response.statusCode();
        }
      } catch (IOException e) {
        last = e.toString();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted while waiting for kube-apiserver", e);
      }
      pause(Duration.ofMillis(100));
    }
    throw new IOException(
        "kube-apiserver not ready at "
            + url()
            + " after "
            + READY_TIMEOUT.toSeconds()
            + " s (last: "
            + last
            + "); its log ends:\n"
            + process.logTail(15));
  }

  private void writeKubeconfigs() throws IOException {
    writeKubeconfig(adminKubeconfig(), credentials.admin());
    writeKubeconfig(dir.resolve("controller-manager.kubeconfig"), credentials.controllerManager());
  }

  /** A kubeconfig for {@code identity}, written atomically. */
  public void writeKubeconfig(Path file, Credentials.Identity identity) throws IOException {
    var ca = Base64.getEncoder().encodeToString(Files.readAllBytes(caFile()));
    var yaml =
        """
        apiVersion: v1
        kind: Config
        clusters:
        - name: stepwise
          cluster:
            server: %s
            certificate-authority-data: %s
        users:
        - name: %s
          user:
            token: %s
        contexts:
        - name: stepwise
          context:
            cluster: stepwise
            user: %s
            namespace: default
        current-context: stepwise
        """
            .formatted(url(), ca, identity.user(), identity.token(), identity.user());
    Files.createDirectories(file.toAbsolutePath().getParent());
    var tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.writeString(tmp, yaml, StandardCharsets.UTF_8);
    Files.move(
        tmp,
        file,
        java.nio.file.StandardCopyOption.REPLACE_EXISTING,
        java.nio.file.StandardCopyOption.ATOMIC_MOVE);
  }

  private void writeAuditPolicy() throws IOException {
    Files.writeString(
        dir.resolve("audit-policy.yaml"),
        """
        apiVersion: audit.k8s.io/v1
        kind: Policy
        omitStages: [RequestReceived]
        rules:
        - level: Metadata
        """,
        StandardCharsets.UTF_8);
  }

  /** Stops the controller manager and the API server (SIGTERM, SIGKILL after a grace period). */
  @Override
  public void close() {
    if (controllerManager != null) {
      controllerManager.stop(STOP_GRACE);
    }
    stopApiServer();
  }

  /** An SSL context that trusts exactly the certificate(s) in {@code pem}. */
  public static SSLContext trusting(Path pem) throws IOException {
    try (InputStream in = Files.newInputStream(pem)) {
      var store = KeyStore.getInstance(KeyStore.getDefaultType());
      store.load(null, null);
      var i = 0;
      for (var cert : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
        store.setCertificateEntry("ca" + i++, cert);
      }
      var trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      trust.init(store);
      var context = SSLContext.getInstance("TLS");
      context.init(null, trust.getTrustManagers(), null);
      return context;
    } catch (java.security.GeneralSecurityException e) {
      throw new IOException("cannot trust " + pem + ": " + e.getMessage(), e);
    }
  }

  /** A free TCP port on the loopback address. */
  public static int freePort() throws IOException {
    try (var socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }

  private static void pause(Duration duration) {
    try {
      Thread.sleep(duration.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
