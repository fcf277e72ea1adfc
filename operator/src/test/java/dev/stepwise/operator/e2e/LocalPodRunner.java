package dev.stepwise.operator.e2e;

import dev.stepwise.operator.e2e.LocalPod.State;
import dev.stepwise.operator.e2e.Workloads.Workload;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.jboss.logging.Logger;

/**
 * Plays the StatefulSet, Deployment and Job controllers and the kubelet of one namespace against an
 * API server (the Fabric8 mock server in tests): every pod the workloads want runs as a real local
 * {@code stepwise} process, and its Pod object and the workloads' status say so.
 *
 * <p>Volumes: a PersistentVolumeClaim is one directory per claim ({@link #runDir(String)}), shared
 * by every pod that mounts it; a ConfigMap or Secret volume is written from the object's data; an
 * emptyDir is a directory of the pod. Mount paths in args and env become those directories;
 * in-cluster DNS names become 127.0.0.1 with a stable local port per (pod, container port) ({@code
 * --server.port} and torchrun's {@code MASTER_PORT} included), see {@link LocalNetwork}.
 *
 * <p>Lifecycle: a container that exits is restarted with a doubling back-off when its restart
 * policy says so (exit 0 included, for StatefulSets and Deployments), counting restartCount; a
 * deleted Pod object loses its process and its controller makes a new one; a template change
 * recreates the pods (all at once, not one by one; a StatefulSet with {@code OnDelete} keeps them
 * until they are deleted). Deployment pods are owned by their Deployment (there are no ReplicaSets
 * here). Each process writes stdout and stderr to {@link #log(String)}; {@link #close()} kills them
 * all within a bound, and a shutdown hook does the same if the JVM exits first.
 *
 * <pre>{@code
 * try (var runner = LocalPodRunner.builder(client, "ns", tempDir).build().start()) {
 *   client.resource(run).create();
 *   await().until(() -> Files.exists(runner.runDir("r-data").resolve("checkpoints/step_5")));
 * }
 * }</pre>
 */
public final class LocalPodRunner implements AutoCloseable {

  private static final Logger LOG = Logger.getLogger(LocalPodRunner.class);

  /** System property naming the runtime jar (set by the operator pom for failsafe). */
  public static final String RUNTIME_JAR_PROPERTY = "stepwise.runtime.jar";

  /** Variables every process gets, before the container's own: no spinning threads on 2 cores. */
  public static final Map<String, String> QUIET_THREADS =
      Map.of(
          "OMP_WAIT_POLICY", "PASSIVE",
          "OMP_NUM_THREADS", "1",
          "OPENBLAS_NUM_THREADS", "1",
          "MKL_NUM_THREADS", "1");

  private static final Set<String> HOST_ENV = Set.of("PATH", "HOME", "LANG", "TMPDIR", "USER");

  private final KubernetesClient client;
  private final String namespace;
  private final Path workDir;
  private final List<String> stepwise;
  private final Map<String, String> env;
  private final Duration pollInterval;
  private final Duration backoff;
  private final Duration maxBackoff;
  private final Duration grace;
  private final String apiServer;
  private final LocalNetwork network;
  private final LocalVolumes volumes;

  /** Pods by slot; written by the control loop only. */
  private final Map<String, LocalPod> pods = new ConcurrentHashMap<>();

  private final Map<String, Object> lastWritten = new HashMap<>();
  private final Map<String, Integer> jobFailures = new HashMap<>();
  private volatile List<Workload> workloads = List.of();
  private final ScheduledExecutorService loop;
  private final Thread shutdownHook;
  private volatile boolean closed;

  private LocalPodRunner(Builder b) {
    this.client = b.client;
    this.namespace = b.namespace;
    this.workDir = b.workDir.toAbsolutePath();
    this.stepwise = b.stepwise != null ? List.copyOf(b.stepwise) : runtimeJarCommand();
    this.env = Map.copyOf(b.env);
    this.pollInterval = b.pollInterval;
    this.backoff = b.backoff;
    this.maxBackoff = b.maxBackoff;
    this.grace = b.grace;
    this.apiServer = b.apiServer != null ? b.apiServer : client.getMasterUrl().toString();
    this.network = new LocalNetwork(namespace, this::serviceEndpoint);
    this.volumes = new LocalVolumes(client, namespace, workDir.resolve("volumes"));
    this.loop =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              var thread = new Thread(r, "local-pod-runner-" + namespace);
              thread.setDaemon(true);
              return thread;
            });
    this.shutdownHook = new Thread(this::killAll, "local-pod-runner-shutdown-" + namespace);
  }

  /** A runner for {@code namespace}, keeping volumes, pod directories and logs under workDir. */
  public static Builder builder(KubernetesClient client, String namespace, Path workDir) {
    return new Builder(client, namespace, workDir);
  }

  /** {@code java ... -jar <runtime jar>}, the jar named by {@value #RUNTIME_JAR_PROPERTY}. */
  public static List<String> runtimeJarCommand() {
    var jar =
        Path.of(System.getProperty(RUNTIME_JAR_PROPERTY, "../runtime/target/stepwise-runtime.jar"))
            .toAbsolutePath()
            .normalize();
    if (!Files.isRegularFile(jar)) {
      throw new IllegalStateException(
          "runtime jar not found at "
              + jar
              + " (system property "
              + RUNTIME_JAR_PROPERTY
              + "); build it with: mvn -B -ntp -pl runtime package -DskipTests");
    }
    var java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    // C1 only and a serial GC: the work is in libtorch, and the machine may have 2 cores.
    return List.of(
        java,
        "-XX:+UseSerialGC",
        "-XX:TieredStopAtLevel=1",
        "-Xmx1g",
        "-XX:-UsePerfData",
        "-jar",
        jar.toString());
  }

  /** Starts the control loop. */
  public LocalPodRunner start() {
    Runtime.getRuntime().addShutdownHook(shutdownHook);
    loop.scheduleWithFixedDelay(this::tick, 0, pollInterval.toMillis(), TimeUnit.MILLISECONDS);
    return this;
  }

  /** The directory standing in for PersistentVolumeClaim {@code claim}. */
  public Path runDir(String claim) {
    return volumes.claim(claim);
  }

  /** The log of pod {@code podName}: stdout and stderr of each of its starts, appended. */
  public Path log(String podName) {
    return workDir.resolve("logs").resolve(podName + ".log");
  }

  /** The last {@code lines} lines of a pod's log, or a note that there is none. */
  public String logTail(String podName, int lines) {
    var file = log(podName);
    if (!Files.exists(file)) {
      return "(no log for pod " + podName + ")";
    }
    try {
      var all = Files.readAllLines(file, StandardCharsets.UTF_8);
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException e) {
      return "(cannot read " + file + ": " + e.getMessage() + ")";
    }
  }

  /** Every log of the pods whose names start with {@code prefix}, oldest pod first. */
  public String logs(String prefix) {
    var logs = workDir.resolve("logs");
    if (!Files.isDirectory(logs)) {
      return "";
    }
    try (var files = Files.list(logs)) {
      var out = new StringBuilder();
      for (var f :
          files
              .filter(f -> f.getFileName().toString().startsWith(prefix))
              .sorted(Comparator.comparingLong(f -> f.toFile().lastModified()))
              .toList()) {
        out.append(Files.readString(f, StandardCharsets.UTF_8));
      }
      return out.toString();
    } catch (IOException e) {
      return "(cannot read the logs of " + prefix + "*: " + e.getMessage() + ")";
    }
  }

  /** The tail of every pod's log, for assertion messages. */
  public String logTails(int lines) {
    var logs = workDir.resolve("logs");
    if (!Files.isDirectory(logs)) {
      return "(no pod has started)";
    }
    try (var files = Files.list(logs)) {
      return files
          .sorted()
          .map(f -> f.getFileName().toString().replaceFirst("\\.log$", ""))
          .map(p -> "=== " + p + " ===\n" + logTail(p, lines))
          .collect(Collectors.joining("\n"));
    } catch (IOException e) {
      return "(cannot list " + logs + ")";
    }
  }

  /** Every pod the runner plays now, by pod name. */
  public SortedMap<String, LocalPod.Snapshot> processes() {
    var result = new TreeMap<String, LocalPod.Snapshot>();
    pods.values().forEach(p -> result.put(p.name, p.snapshot()));
    return result;
  }

  /**
   * Kills pod {@code podName}'s process with SIGKILL, like an OOM kill; its restart policy acts.
   */
  public void kill(String podName) {
    pods.values().stream()
        .filter(p -> p.name.equals(podName))
        .findFirst()
        .orElseThrow(() -> new IllegalArgumentException("no local pod " + podName))
        .kill();
  }

  /**
   * Stops the loop, then every process (SIGTERM, SIGKILL after the grace period); bounded by about
   * 10 s for the loop plus the grace period plus 5 s.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    loop.shutdownNow();
    try {
      if (!loop.awaitTermination(10, TimeUnit.SECONDS)) {
        LOG.warnf("local pod runner of %s: control loop did not stop in 10 s", namespace);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    pods.values().parallelStream().forEach(p -> p.stop(grace));
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException alreadyShuttingDown) {
      // the hook is running or has run
    }
  }

  private void killAll() {
    pods.values().forEach(LocalPod::kill);
  }

  // --- the control loop ---------------------------------------------------------------------

  private void tick() {
    if (closed) {
      return;
    }
    try {
      reconcile();
    } catch (KubernetesClientException e) {
      LOG.debugf(
          "local pod runner of %s: API call failed, retrying: %s", namespace, e.getMessage());
    } catch (RuntimeException | Error e) {
      // Never let it escape: the executor would silently stop scheduling the loop.
      LOG.warnf(e, "local pod runner of %s: reconcile failed", namespace);
    }
  }

  private void reconcile() {
    var observed = Workloads.observe(client, namespace);
    workloads = observed;
    var apiPods =
        client.pods().inNamespace(namespace).list().getItems().stream()
            .collect(Collectors.toMap(p -> p.getMetadata().getName(), p -> p));
    var wanted = new LinkedHashMap<String, Workload>();
    for (var w : observed) {
      for (int i = 0; i < w.replicas(); i++) {
        wanted.put(w.slot(i), w);
      }
    }

    for (var pod : List.copyOf(pods.values())) {
      var object = apiPods.get(pod.name);
      var owner = observed.stream().filter(w -> w.uid().equals(pod.owner.uid())).findFirst();
      if (object == null || object.getMetadata().getDeletionTimestamp() != null) {
        LOG.infof("pod %s/%s was deleted: stopping its process", namespace, pod.name);
        pod.stop(grace);
        forget(pod);
      } else if (owner.isEmpty()) {
        LOG.infof("pod %s/%s lost its %s: deleting it", namespace, pod.name, pod.owner.kind());
        pod.stop(grace);
        delete(pod);
      } else if (pod.owner.kind().equals(Workloads.JOB) && pod.state() == State.TERMINATED) {
        // A finished Job keeps its pods; a failed pod of an unfinished Job gets a successor.
        if (wanted.containsKey(pod.slot)
            && !Integer.valueOf(0).equals(pod.snapshot().lastExitCode())) {
          forget(pod);
        }
      } else if (!wanted.containsKey(pod.slot)) {
        LOG.infof(
            "pod %s/%s is beyond its %s's replicas: deleting it",
            namespace, pod.name, pod.owner.kind());
        pod.stop(grace);
        delete(pod);
      } else if (!owner.get().templateHash().equals(pod.templateHash) && !owner.get().onDelete()) {
        LOG.infof("pod %s/%s has an outdated template: replacing it", namespace, pod.name);
        pod.stop(grace);
        delete(pod);
      }
    }

    for (var entry : wanted.entrySet()) {
      if (!pods.containsKey(entry.getKey())) {
        create(entry.getValue(), entry.getKey());
      }
    }
    for (var pod : pods.values()) {
      live(pod);
      writePodStatus(pod);
    }
    for (var w : observed) {
      writeWorkloadStatus(w);
    }
  }

  private void create(Workload owner, String slot) {
    var created =
        client.pods().inNamespace(namespace).resource(owner.pod(slot, namespace)).create();
    var name = created.getMetadata().getName();
    var local =
        new LocalPod(
            slot, created.getMetadata(), owner, workDir.resolve("pods").resolve(name), log(name));
    pods.put(slot, local);
    LOG.infof("pod %s/%s created for %s %s", namespace, name, owner.kind(), owner.name());
  }

  /** Starts, restarts and probes one pod's process. */
  private void live(LocalPod pod) {
    var job = pod.owner.kind().equals(Workloads.JOB);
    var exit =
        pod.reapExit(
            code -> {
              if (job && code != 0) {
                jobFailures.merge(pod.owner.uid(), 1, Integer::sum);
              }
              var withinLimit =
                  !job || jobFailures.getOrDefault(pod.owner.uid(), 0) <= pod.owner.backoffLimit();
              return withinLimit && pod.owner.restarts(code);
            },
            backoffAfter(pod));
    exit.ifPresent(code -> LOG.infof("pod %s/%s exited with %d", namespace, pod.name, code));
    if (pod.dueToStart() && !closed) {
      try {
        pod.start(plan(pod));
        LOG.infof(
            "pod %s/%s started (pid %d, restarts %d)",
            namespace,
            pod.name,
            pod.handle().map(ProcessHandle::pid).orElse(-1L),
            pod.restartCount());
      } catch (ContainerLaunch.LaunchException e) {
        pod.waiting("CreateContainerConfigError", e.getMessage());
      } catch (LocalVolumes.NotReady e) {
        pod.waiting("ContainerCreating", e.getMessage());
      }
    }
    if (pod.state() == State.RUNNING) {
      pod.ready(ReadinessProbe.passes(pod, network));
    }
  }

  private Duration backoffAfter(LocalPod pod) {
    var doubled = backoff.multipliedBy(1L << Math.min(pod.restartCount(), 16));
    return doubled.compareTo(maxBackoff) > 0 ? maxBackoff : doubled;
  }

  /** The process for the pod's (first) container, with its volumes prepared. */
  private ContainerLaunch plan(LocalPod pod) {
    var spec = pod.owner.template().getSpec();
    var identity =
        new ContainerLaunch.Pod(
            pod.name,
            namespace,
            pod.uid,
            pod.slot,
            pod.labels,
            pod.annotations,
            spec.getServiceAccountName());
    var dirs = new LinkedHashMap<String, Path>();
    if (spec.getVolumes() != null) {
      for (var volume : spec.getVolumes()) {
        dirs.put(volume.getName(), volumes.prepare(pod, volume));
      }
    }
    var base = new LinkedHashMap<String, String>();
    HOST_ENV.forEach(k -> Optional.ofNullable(System.getenv(k)).ifPresent(v -> base.put(k, v)));
    base.putAll(QUIET_THREADS);
    base.put("HOSTNAME", pod.name);
    if (!Boolean.FALSE.equals(spec.getAutomountServiceAccountToken())) {
      // In a pod the Fabric8 client reads the mounted token; here it is pointed at the API server.
      base.put("KUBERNETES_MASTER", apiServer);
      base.put("KUBERNETES_NAMESPACE", namespace);
      base.put("KUBERNETES_TRUST_CERTIFICATES", "true");
      base.put("KUBERNETES_AUTH_TRYKUBECONFIG", "false");
      base.put("KUBERNETES_AUTH_TRYSERVICEACCOUNT", "false");
    }
    base.putAll(env);
    var container = spec.getContainers().get(0);
    return ContainerLaunch.plan(identity, container, dirs, network, volumes, base, stepwise);
  }

  /** kube-proxy's part: a Service port leads to replica 0 of the workload its selector picks. */
  private Optional<LocalNetwork.Endpoint> serviceEndpoint(String service, int port) {
    var svc = client.services().inNamespace(namespace).withName(service).get();
    if (svc == null || svc.getSpec().getSelector() == null || svc.getSpec().getPorts() == null) {
      return Optional.empty();
    }
    var selector = svc.getSpec().getSelector();
    var servicePort =
        svc.getSpec().getPorts().stream().filter(p -> p.getPort() == port).findFirst();
    if (servicePort.isEmpty()) {
      return Optional.empty();
    }
    for (var w : workloads) {
      var labels = w.podLabels(0);
      if (labels.entrySet().containsAll(selector.entrySet())) {
        var target = servicePort.get().getTargetPort();
        return w.containerPort(target, port).map(p -> new LocalNetwork.Endpoint(w.slot(0), p));
      }
    }
    return Optional.empty();
  }

  // --- what the API shows ----------------------------------------------------------------------

  private void writePodStatus(LocalPod pod) {
    var status = PodStatuses.pod(pod);
    writeOnChange(
        "pod/" + pod.name,
        status,
        () ->
            client
                .pods()
                .inNamespace(namespace)
                .withName(pod.name)
                .editStatus(
                    p -> {
                      p.setStatus(status);
                      return p;
                    }));
  }

  private void writeWorkloadStatus(Workload w) {
    var mine = pods.values().stream().filter(p -> p.owner.uid().equals(w.uid())).toList();
    switch (w.kind()) {
      case Workloads.STATEFUL_SET -> {
        var status = PodStatuses.statefulSet(w, mine);
        writeOnChange(
            "sts/" + w.uid(),
            status,
            () ->
                client
                    .apps()
                    .statefulSets()
                    .inNamespace(namespace)
                    .withName(w.name())
                    .editStatus(
                        s -> {
                          s.setStatus(status);
                          return s;
                        }));
      }
      case Workloads.DEPLOYMENT -> {
        var status = PodStatuses.deployment(w, mine);
        writeOnChange(
            "deploy/" + w.uid(),
            status,
            () ->
                client
                    .apps()
                    .deployments()
                    .inNamespace(namespace)
                    .withName(w.name())
                    .editStatus(
                        d -> {
                          d.setStatus(status);
                          return d;
                        }));
      }
      default -> {
        var status = PodStatuses.job(w, mine, jobFailures.getOrDefault(w.uid(), 0));
        writeOnChange(
            "job/" + w.uid(),
            status,
            () ->
                client
                    .batch()
                    .v1()
                    .jobs()
                    .inNamespace(namespace)
                    .withName(w.name())
                    .editStatus(
                        j -> {
                          j.setStatus(status);
                          return j;
                        }));
      }
    }
  }

  /** Writes only what differs from the last write, so an idle runner writes nothing. */
  private void writeOnChange(String key, Object status, Runnable write) {
    if (!status.equals(lastWritten.get(key))) {
      write.run();
      lastWritten.put(key, status);
    }
  }

  private void delete(LocalPod pod) {
    client.pods().inNamespace(namespace).withName(pod.name).delete();
    forget(pod);
  }

  private void forget(LocalPod pod) {
    pods.remove(pod.slot, pod);
    lastWritten.remove("pod/" + pod.name);
  }

  /** Options of a {@link LocalPodRunner}. */
  public static final class Builder {
    private final KubernetesClient client;
    private final String namespace;
    private final Path workDir;
    private List<String> stepwise;
    private final Map<String, String> env = new LinkedHashMap<>();
    private Duration pollInterval = Duration.ofMillis(200);
    private Duration backoff = Duration.ofSeconds(1);
    private Duration maxBackoff = Duration.ofSeconds(10);
    private Duration grace = Duration.ofSeconds(3);
    private String apiServer;

    private Builder(KubernetesClient client, String namespace, Path workDir) {
      this.client = Objects.requireNonNull(client);
      this.namespace = Objects.requireNonNull(namespace);
      this.workDir = Objects.requireNonNull(workDir);
    }

    /** What runs for the container command {@code stepwise}; default {@link #runtimeJarCommand}. */
    public Builder stepwiseCommand(List<String> command) {
      this.stepwise = List.copyOf(command);
      return this;
    }

    /** A variable every process gets (the container's own env still wins). */
    public Builder env(String name, String value) {
      env.put(name, value);
      return this;
    }

    public Builder pollInterval(Duration interval) {
      this.pollInterval = interval;
      return this;
    }

    /** First restart delay, doubled per restart up to {@code max}. */
    public Builder restartBackoff(Duration first, Duration max) {
      this.backoff = first;
      this.maxBackoff = max;
      return this;
    }

    /** Longest wait between SIGTERM and SIGKILL when a pod is stopped. */
    public Builder terminationGrace(Duration grace) {
      this.grace = grace;
      return this;
    }

    /** The API server URL given to pods that mount a token; default the client's. */
    public Builder apiServer(String url) {
      this.apiServer = url;
      return this;
    }

    public LocalPodRunner build() {
      return new LocalPodRunner(this);
    }
  }
}
