package dev.stepwise.cluster.kubelet;

import dev.stepwise.cluster.FileTrees;
import dev.stepwise.cluster.controlplane.ManagedProcess;
import io.fabric8.kubernetes.api.model.Binding;
import io.fabric8.kubernetes.api.model.BindingBuilder;
import io.fabric8.kubernetes.api.model.PersistentVolume;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodStatus;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
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
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.jboss.logging.Logger;

/**
 * A kubelet for one machine without containers: it registers Node {@value #NODE}, binds every
 * unscheduled pod to it (it is the scheduler too), and runs each pod's container as a local process
 * of the image's stand-in ({@link LocalImages}), reporting phase, conditions, container state and
 * restart counts in the pod's status. It honours {@code restartPolicy}, readiness probes (httpGet,
 * tcpSocket) and the termination grace period (SIGTERM, then SIGKILL), and stops the processes of
 * deleted pods. It provisions PersistentVolumes as local directories ({@link VolumeProvisioner}),
 * writes ConfigMap, Secret and projected volumes (a ServiceAccount token from the TokenRequest API,
 * so in-cluster clients authenticate as their ServiceAccount), and stands in for cluster DNS and
 * kube-proxy ({@link LocalNetwork}, {@link ServiceProxy}).
 *
 * <p>Paths of volume mounts and in-cluster names in a container's args and env are rewritten to
 * their local counterparts; each pod gets its own local port for each container port.
 *
 * <p>In image mode ({@link LocalImages#withArchives}) a container runs from its image's OCI archive
 * instead: unpacked once per image digest ({@link ImageArchives}), then run in its own mount, pid,
 * ipc and uts namespaces with the pod's volumes mounted at their paths, as its securityContext's
 * user, read-only when it asks ({@link ImageContainer}). Pods keep the machine's network either
 * way, and signals, grace periods and exit codes act on them as on the processes of the host.
 */
public final class LocalKubelet implements AutoCloseable {

  private static final Logger LOG = Logger.getLogger(LocalKubelet.class);

  /** The one node. */
  public static final String NODE = "stepwise-local";

  /** Mount path of the ServiceAccount token volume in a pod. */
  private static final String SERVICE_ACCOUNT_MOUNT =
      "/var/run/secrets/kubernetes.io/serviceaccount";

  /** Variables every process gets, before the container's own: no spinning threads on 2 cores. */
  private static final Map<String, String> QUIET_THREADS =
      Map.of(
          "OMP_WAIT_POLICY", "PASSIVE",
          "OMP_NUM_THREADS", "1",
          "OPENBLAS_NUM_THREADS", "1",
          "MKL_NUM_THREADS", "1");

  private static final Set<String> HOST_ENV = Set.of("PATH", "HOME", "LANG", "TMPDIR", "USER");

  /**
   * The environment a pod's process starts from when it runs as a process of this machine, before
   * its own variables: a few of this machine's (PATH, HOME, LANG, TMPDIR, USER) and quiet threads,
   * nothing else of the caller's. A process meant to compute what a pod computes starts from it
   * too: a host setting such as {@code OPENBLAS_CORETYPE} picks other float kernels, whose results
   * differ in the last bit.
   */
  public static Map<String, String> processEnvironment() {
    var env = new LinkedHashMap<String, String>();
    HOST_ENV.forEach(k -> Optional.ofNullable(System.getenv(k)).ifPresent(v -> env.put(k, v)));
    env.putAll(QUIET_THREADS);
    return env;
  }

  private static final Duration TICK = Duration.ofMillis(200);
  private static final Duration LEASE_RENEWAL = Duration.ofSeconds(10);
  private static final Duration FIRST_BACKOFF = Duration.ofSeconds(1);
  private static final Duration MAX_BACKOFF = Duration.ofSeconds(10);
  private static final Duration PROBE_PERIOD = Duration.ofSeconds(1);

  private final KubernetesClient client;
  private final Path workDir;
  private final LocalImages images;
  private ImageContainer containers;
  private final String apiHost;
  private final int apiPort;
  private final NodeAgent node;
  private final VolumeProvisioner provisioner;
  private final Map<String, LocalNetwork> networks = new ConcurrentHashMap<>();
  private final Map<String, ServiceProxy> proxies = new ConcurrentHashMap<>();

  /** Pods this kubelet runs, by uid; written by the control loop only. */
  private final Map<String, LocalPod> pods = new ConcurrentHashMap<>();

  private final Set<String> stopping = ConcurrentHashMap.newKeySet();
  private final Map<String, PodStatus> lastWritten = new HashMap<>();
  private final Map<String, Long> lastProbe = new HashMap<>();
  private final ScheduledExecutorService loop;
  private final ExecutorService stops = Executors.newCachedThreadPool(daemon("kubelet-stop"));
  private final Thread shutdownHook = new Thread(this::killAll, "local-kubelet-shutdown");
  private SharedIndexInformer<Pod> podInformer;
  private SharedIndexInformer<PersistentVolumeClaim> claimInformer;
  private SharedIndexInformer<PersistentVolume> volumeInformer;
  private volatile boolean closed;
  private int podIps;

  /**
   * @param client the kubelet's own client
   * @param workDir volumes, pod directories and logs
   * @param apiPort the API server's port on 127.0.0.1, given to in-cluster clients
   */
  public LocalKubelet(KubernetesClient client, Path workDir, LocalImages images, int apiPort) {
    this.client = client;
    this.workDir = workDir.toAbsolutePath();
    this.images = images;
    this.apiHost = LocalNetwork.LOOPBACK;
    this.apiPort = apiPort;
    this.node = new NodeAgent(client, NODE);
    this.provisioner = new VolumeProvisioner(client, this.workDir.resolve("volumes"));
    this.loop = Executors.newSingleThreadScheduledExecutor(daemon("local-kubelet"));
  }

  /**
   * Registers the node and the StorageClass, starts the informers and the control loop. In image
   * mode it first makes sure containers can run (root, the container helper).
   */
  public LocalKubelet start() {
    if (images.archives().isPresent()) {
      try {
        containers = new ImageContainer(ContainerHelper.resolve());
      } catch (IOException e) {
        throw new IllegalStateException("image mode cannot run here: " + e.getMessage(), e);
      }
      LOG.infof(
          "local kubelet in image mode: images from the OCI archives in %s",
          images.archives().get().directory());
    }
    node.register();
    provisioner.ensureStorageClass();
    podInformer = client.pods().inAnyNamespace().inform();
    claimInformer = client.persistentVolumeClaims().inAnyNamespace().inform();
    volumeInformer = client.persistentVolumes().inform();
    Runtime.getRuntime().addShutdownHook(shutdownHook);
    loop.scheduleWithFixedDelay(this::tick, 0, TICK.toMillis(), TimeUnit.MILLISECONDS);
    loop.scheduleWithFixedDelay(
        this::renewLease, 0, LEASE_RENEWAL.toMillis(), TimeUnit.MILLISECONDS);
    return this;
  }

  // --- what tests and `stepwise up` look at ---------------------------------------------------

  /** The directory of the PersistentVolume bound to claim {@code claim} of {@code namespace}. */
  public Path claimDirectory(String namespace, String claim) {
    return new LocalVolumes(client, namespace).claimDirectory(claim);
  }

  /** The working directory of pod {@code namespace/pod}'s process (its non-claim volumes too). */
  public Path podDirectory(String namespace, String pod) {
    return workDir.resolve("pods").resolve(namespace).resolve(pod);
  }

  /** The local port on which pod {@code namespace/pod} serves its {@code containerPort}. */
  public int localPort(String namespace, String pod, int containerPort) {
    return network(namespace).localPort(pod, containerPort);
  }

  /** The log of pod {@code namespace/pod}: stdout and stderr of each of its starts, appended. */
  public Path log(String namespace, String pod) {
    return workDir.resolve("logs").resolve(namespace).resolve(pod + ".log");
  }

  /** The last {@code lines} lines of a pod's log, or a note that there is none. */
  public String logTail(String namespace, String pod, int lines) {
    var file = log(namespace, pod);
    if (!Files.exists(file)) {
      return "(no log for pod " + namespace + "/" + pod + ")";
    }
    try {
      var all = Files.readAllLines(file, StandardCharsets.UTF_8);
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException e) {
      return "(cannot read " + file + ": " + e.getMessage() + ")";
    }
  }

  /**
   * Every log of the pods of {@code namespace} whose names start with {@code prefix}, oldest first.
   */
  public String logs(String namespace, String prefix) {
    var dir = workDir.resolve("logs").resolve(namespace);
    if (!Files.isDirectory(dir)) {
      return "";
    }
    try (var files = Files.list(dir)) {
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

  /** The tail of the log of every pod of {@code namespace}, for assertion messages. */
  public String logTails(String namespace, int lines) {
    var dir = workDir.resolve("logs").resolve(namespace);
    if (!Files.isDirectory(dir)) {
      return "(no pod of " + namespace + " has started)";
    }
    try (var files = Files.list(dir)) {
      return files
          .sorted()
          .map(f -> f.getFileName().toString().replaceFirst("\\.log$", ""))
          .map(p -> "=== " + p + " ===\n" + logTail(namespace, p, lines))
          .collect(Collectors.joining("\n"));
    } catch (IOException e) {
      return "(cannot list " + dir + ")";
    }
  }

  /** Every pod of {@code namespace} the kubelet runs now, by pod name. */
  public SortedMap<String, LocalPod.Snapshot> processes(String namespace) {
    var result = new TreeMap<String, LocalPod.Snapshot>();
    pods.values().stream()
        .filter(p -> p.namespace.equals(namespace))
        .forEach(p -> result.put(p.name, p.snapshot()));
    return result;
  }

  /** Every pod the kubelet runs now, in every namespace, by {@code namespace/name}. */
  public SortedMap<String, LocalPod.Snapshot> processes() {
    var result = new TreeMap<String, LocalPod.Snapshot>();
    pods.values().forEach(p -> result.put(p.namespace + "/" + p.name, p.snapshot()));
    return result;
  }

  /** SIGKILLs pod {@code namespace/pod}'s process, like an OOM kill; its restart policy acts. */
  public void kill(String namespace, String pod) {
    pods.values().stream()
        .filter(p -> p.namespace.equals(namespace) && p.name.equals(pod))
        .findFirst()
        .orElseThrow(() -> new IllegalArgumentException("no local pod " + namespace + "/" + pod))
        .kill();
  }

  /**
   * Stops the loop, then every process (SIGTERM, SIGKILL after its grace period, at most 10 s); the
   * Pod objects stay, as when a node goes down.
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
        LOG.warn("local kubelet: control loop did not stop in 10 s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    pods.values().parallelStream().forEach(p -> p.stop(grace(p.spec, Duration.ofSeconds(10))));
    proxies.values().forEach(ServiceProxy::close);
    images.archives().ifPresent(ImageArchives::close);
    stops.shutdownNow();
    provisioner.close();
    for (var informer : List.of(podInformer, claimInformer, volumeInformer)) {
      if (informer != null) {
        informer.close();
      }
    }
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
      provisioner.reconcile(claimInformer.getStore().list(), volumeInformer.getStore().list());
      syncPods();
    } catch (KubernetesClientException e) {
      LOG.debugf("local kubelet: API call failed, retrying: %s", e.getMessage());
    } catch (RuntimeException | Error e) {
      // Never let it escape: the executor would silently stop scheduling the loop.
      LOG.warnf(e, "local kubelet: sync failed");
    }
  }

  private void renewLease() {
    if (closed) {
      return;
    }
    try {
      node.renewLease();
    } catch (KubernetesClientException e) {
      LOG.debugf("local kubelet: lease renewal failed, retrying: %s", e.getMessage());
    } catch (RuntimeException e) {
      LOG.warnf(e, "local kubelet: lease renewal failed");
    }
  }

  private void syncPods() {
    var inApi = new LinkedHashMap<String, Pod>();
    for (var pod : podInformer.getStore().list()) {
      var spec = pod.getSpec();
      if (spec.getNodeName() == null || spec.getNodeName().isEmpty()) {
        if (pod.getMetadata().getDeletionTimestamp() == null) {
          bind(pod);
        }
      } else if (spec.getNodeName().equals(NODE)) {
        inApi.put(pod.getMetadata().getUid(), pod);
      }
    }
    // Pods gone from the API (force-deleted): their processes go too.
    for (var local : List.copyOf(pods.values())) {
      if (!inApi.containsKey(local.uid) && stopping.add(local.uid)) {
        LOG.infof("pod %s/%s is gone: stopping its process", local.namespace, local.name);
        stops.submit(
            () -> {
              local.stop(grace(local.spec, Duration.ofSeconds(30)));
              discardFiles(local);
              forget(local);
            });
      }
    }
    for (var pod : inApi.values()) {
      var uid = pod.getMetadata().getUid();
      if (pod.getMetadata().getDeletionTimestamp() != null) {
        terminate(pod);
        continue;
      }
      var local = pods.get(uid);
      if (local == null) {
        if (finished(pod)) {
          continue; // ran before this kubelet started; nothing to run again
        }
        local = admit(pod);
      }
      live(local);
      writeStatus(local);
    }
  }

  private static boolean finished(Pod pod) {
    var phase = pod.getStatus() == null ? null : pod.getStatus().getPhase();
    return "Succeeded".equals(phase) || "Failed".equals(phase);
  }

  private void bind(Pod pod) {
    var meta = pod.getMetadata();
    Binding binding =
        new BindingBuilder()
            .withNewMetadata()
            .withName(meta.getName())
            .withNamespace(meta.getNamespace())
            .withUid(meta.getUid())
            .endMetadata()
            .withNewTarget()
            .withKind("Node")
            .withName(NODE)
            .endTarget()
            .build();
    try {
      client.bindings().inNamespace(meta.getNamespace()).resource(binding).create();
      LOG.debugf("pod %s/%s bound to %s", meta.getNamespace(), meta.getName(), NODE);
    } catch (KubernetesClientException e) {
      if (e.getCode() != 409 && e.getCode() != 404) {
        throw e;
      }
    }
  }

  private LocalPod admit(Pod pod) {
    var meta = pod.getMetadata();
    var local =
        new LocalPod(
            meta.getName(),
            pod,
            nextPodIp(),
            podDirectory(meta.getNamespace(), meta.getName()),
            log(meta.getNamespace(), meta.getName()));
    pods.put(meta.getUid(), local);
    LOG.infof("pod %s/%s admitted", meta.getNamespace(), meta.getName());
    return local;
  }

  /**
   * The next address of the pod range 10.244.0.0/16 for a pod's status. Only a label: nothing is
   * ever sent to it (pods talk over 127.0.0.1 and their local ports).
   */
  private String nextPodIp() {
    var n = podIps++ % (256 * 254);
    return "10.244." + (n / 254) + "." + (n % 254 + 1);
  }

  /** A pod being deleted: its process stops within its grace period, then the object goes. */
  private void terminate(Pod pod) {
    var uid = pod.getMetadata().getUid();
    if (!stopping.add(uid)) {
      return;
    }
    var local = pods.get(uid);
    var grace =
        Duration.ofSeconds(
            Objects.requireNonNullElse(pod.getMetadata().getDeletionGracePeriodSeconds(), 30L));
    stops.submit(
        () -> {
          if (local != null) {
            LOG.infof(
                "pod %s/%s deleted: stopping its process (grace %d s)",
                local.namespace, local.name, grace.toSeconds());
            local.stop(grace);
            discardFiles(local); // before the object goes, so no successor of its name runs yet
          }
          try {
            client
                .pods()
                .inNamespace(pod.getMetadata().getNamespace())
                .withName(pod.getMetadata().getName())
                .withGracePeriod(0)
                .delete();
          } catch (KubernetesClientException e) {
            LOG.debugf("pod %s: final delete failed: %s", pod.getMetadata().getName(), e);
          }
          if (local != null) {
            forget(local);
          } else {
            stopping.remove(uid);
          }
        });
  }

  private static Duration grace(Pod pod, Duration fallback) {
    var seconds = pod.getSpec().getTerminationGracePeriodSeconds();
    return seconds == null ? fallback : Duration.ofSeconds(seconds);
  }

  /** Starts, restarts and probes one pod's process. */
  private void live(LocalPod pod) {
    if (stopping.contains(pod.uid)) {
      return;
    }
    pod.reapExit(pod::restarts, backoffAfter(pod))
        .ifPresent(code -> LOG.infof("pod %s/%s exited with %d", pod.namespace, pod.name, code));
    if (pod.dueToStart() && !closed) {
      try {
        pod.start(plan(pod));
        LOG.infof(
            "pod %s/%s started (pid %d, restarts %d)",
            pod.namespace,
            pod.name,
            pod.handle().map(ProcessHandle::pid).orElse(-1L),
            pod.restartCount());
      } catch (ContainerLaunch.LaunchException e) {
        pod.waiting(e.reason, e.getMessage());
      } catch (LocalVolumes.NotReady | ImageArchives.Unpacking e) {
        pod.waiting("ContainerCreating", e.getMessage());
      } catch (java.io.UncheckedIOException e) {
        pod.failedStart(e.getMessage(), backoffAfter(pod));
      }
    }
    if (pod.state() == LocalPod.State.RUNNING) {
      var now = System.nanoTime();
      var last = lastProbe.get(pod.uid);
      if (last == null || now - last >= PROBE_PERIOD.toNanos()) {
        lastProbe.put(pod.uid, now);
        pod.ready(ReadinessProbe.passes(pod, network(pod.namespace)));
      }
    }
  }

  private Duration backoffAfter(LocalPod pod) {
    var doubled = FIRST_BACKOFF.multipliedBy(1L << Math.min(pod.restartCount(), 16));
    return doubled.compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : doubled;
  }

  /** The process for the pod's (first) container, with its volumes prepared. */
  private ContainerLaunch plan(LocalPod pod) {
    var spec = pod.spec.getSpec();
    var container = pod.container();
    // Image mode: the image first, so that a pod whose image is missing or still unpacking asks
    // nothing of the API server yet.
    var image =
        images
            .archives()
            .filter(a -> !LocalImages.HOST.equals(container.getImage()))
            .map(a -> a.image(container.getImage()));
    var volumes = new LocalVolumes(client, pod.namespace);
    var dirs = new LinkedHashMap<String, Path>();
    if (spec.getVolumes() != null) {
      for (var volume : spec.getVolumes()) {
        dirs.put(volume.getName(), volumes.prepare(pod, volume));
      }
    }
    var base = new LinkedHashMap<String, String>();
    if (image.isPresent()) {
      base.putAll(ImageContainer.imageEnv(image.get().config()));
      base.putAll(QUIET_THREADS);
    } else {
      base.putAll(processEnvironment());
    }
    base.put("HOSTNAME", pod.name);
    // A kubeconfig of this machine must never stand in for the pod's own identity.
    base.put("KUBERNETES_AUTH_TRYKUBECONFIG", "false");
    base.put("KUBERNETES_SERVICE_HOST", apiHost);
    base.put("KUBERNETES_SERVICE_PORT", String.valueOf(apiPort));
    if (image.isPresent()) {
      // The ServiceAccount volume is mounted where in-cluster clients look for it.
      var launch =
          ContainerLaunch.plan(
              pod.identity(),
              container,
              dirs,
              network(pod.namespace),
              volumes,
              base,
              (c, env) -> ImageContainer.entrypoint(c, image.get().config()));
      return containers.wrap(pod, image.get(), launch, dirs);
    }
    serviceAccountDir(pod, dirs)
        .ifPresent(
            dir -> {
              // In a container these files sit at the well-known path clients read; here clients
              // are told where they are.
              base.put("KUBERNETES_AUTH_SERVICEACCOUNT_TOKEN", dir.resolve("token").toString());
              base.put("KUBERNETES_CERTS_CA_FILE", dir.resolve("ca.crt").toString());
              base.put("KUBERNETES_NAMESPACE", pod.namespace);
            });
    return ContainerLaunch.plan(
        pod.identity(), container, dirs, network(pod.namespace), volumes, base, images);
  }

  /**
   * Image mode: a stopped pod's files go with it (its emptyDirs, the container's writable layer),
   * unless a pod of the same name already runs.
   */
  private void discardFiles(LocalPod pod) {
    if (containers == null
        || pods.values().stream()
            .anyMatch(
                p -> p != pod && p.namespace.equals(pod.namespace) && p.name.equals(pod.name))) {
      return;
    }
    try {
      FileTrees.delete(pod.workDir);
    } catch (IOException e) {
      LOG.warnf("pod %s/%s: cannot delete %s: %s", pod.namespace, pod.name, pod.workDir, e);
    }
  }

  private static Optional<Path> serviceAccountDir(LocalPod pod, Map<String, Path> dirs) {
    var mounts = pod.container().getVolumeMounts();
    if (mounts == null) {
      return Optional.empty();
    }
    return mounts.stream()
        .filter(m -> SERVICE_ACCOUNT_MOUNT.equals(m.getMountPath()))
        .map(m -> dirs.get(m.getName()))
        .filter(Objects::nonNull)
        .findFirst();
  }

  private LocalNetwork network(String namespace) {
    return networks.computeIfAbsent(
        namespace,
        ns -> new LocalNetwork(ns, (service, port) -> serviceEndpoint(ns, service, port)));
  }

  /**
   * Where {@code service:port} of {@code namespace} leads: the local port of its proxy, started on
   * first use. A Service that does not exist yet resolves too, as its DNS name would once it is
   * created: a pod may start before its Service (the operator's create of it failed and is being
   * retried), and its proxy refuses connections until the Service exists and a pod is ready behind
   * it, as a Service without endpoints does.
   */
  private Optional<LocalNetwork.Endpoint> serviceEndpoint(String namespace, String name, int port) {
    var slot = "svc." + name;
    var localPort = network(namespace).localPort(slot, port);
    var key = namespace + "/" + name + ":" + port;
    proxies.computeIfAbsent(
        key,
        k -> {
          try {
            return new ServiceProxy(k, localPort, () -> backend(namespace, name, port));
          } catch (IOException e) {
            throw new IllegalStateException("cannot proxy service " + k + ": " + e.getMessage(), e);
          }
        });
    return Optional.of(new LocalNetwork.Endpoint(slot, port));
  }

  /**
   * The local port of a ready pod that {@code service} selects now, at the target port of its
   * {@code port}; empty while the Service, that port of it or a ready pod behind it is missing.
   */
  private Optional<Integer> backend(String namespace, String service, int port) {
    var object = client.services().inNamespace(namespace).withName(service).get();
    if (object == null
        || object.getSpec().getSelector() == null
        || object.getSpec().getPorts() == null) {
      return Optional.empty();
    }
    var servicePort =
        object.getSpec().getPorts().stream().filter(p -> p.getPort() == port).findFirst();
    if (servicePort.isEmpty()) {
      return Optional.empty();
    }
    var target = servicePort.get().getTargetPort();
    var selector = object.getSpec().getSelector();
    var candidates = new ArrayList<LocalPod>();
    for (var pod : pods.values()) {
      if (pod.namespace.equals(namespace)
          && !stopping.contains(pod.uid)
          && pod.labels.entrySet().containsAll(selector.entrySet())
          && pod.state() == LocalPod.State.RUNNING) {
        candidates.add(pod);
      }
    }
    candidates.sort(Comparator.comparing((LocalPod p) -> !p.snapshot().ready()));
    return candidates.stream()
        .findFirst()
        .map(
            pod ->
                network(namespace)
                    .localPort(
                        pod.slot,
                        ReadinessProbe.containerPort(pod, target, target == null ? port : 0)));
  }

  // --- what the API shows ----------------------------------------------------------------------

  private void writeStatus(LocalPod pod) {
    var status = PodStatuses.pod(pod);
    if (status.equals(lastWritten.get(pod.uid))) {
      return;
    }
    var patch =
        new PodBuilder()
            .withNewMetadata()
            .withName(pod.name)
            .withNamespace(pod.namespace)
            .endMetadata()
            .withStatus(status)
            .build();
    client.pods().inNamespace(pod.namespace).resource(patch).patchStatus();
    lastWritten.put(pod.uid, status);
  }

  private void forget(LocalPod pod) {
    pods.remove(pod.uid, pod);
    stopping.remove(pod.uid);
    try {
      loop.execute(
          () -> {
            lastWritten.remove(pod.uid);
            lastProbe.remove(pod.uid);
          });
    } catch (java.util.concurrent.RejectedExecutionException closing) {
      // the kubelet is closing: nothing to forget
    }
  }

  private static java.util.concurrent.ThreadFactory daemon(String name) {
    return r -> {
      var thread = new Thread(r, name);
      thread.setDaemon(true);
      return thread;
    };
  }

  /** Stops the processes a killed kubelet left behind (found by their pod directory). */
  public static int stopOrphans(Path workDir, Duration grace) {
    var marker = workDir.toAbsolutePath().resolve("pods").toString();
    var orphans =
        ProcessHandle.allProcesses()
            .filter(p -> p.info().command().isPresent())
            .filter(p -> ManagedProcess.commandLine(p).contains(marker) || cwdUnder(p, marker))
            .toList();
    orphans.forEach(p -> ManagedProcess.stop(p, grace));
    return orphans.size();
  }

  private static boolean cwdUnder(ProcessHandle process, String dir) {
    try {
      return Files.readSymbolicLink(Path.of("/proc", Long.toString(process.pid()), "cwd"))
          .toString()
          .startsWith(dir);
    } catch (IOException | UnsupportedOperationException e) {
      return false;
    }
  }
}
