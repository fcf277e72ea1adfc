package dev.stepwise.cluster.kubelet;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.cluster.controlplane.ControlPlane;
import dev.stepwise.cluster.controlplane.ControlPlaneBinary;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.ContainerState;
import io.fabric8.kubernetes.api.model.EnvVarBuilder;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaimBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.PodSpecBuilder;
import io.fabric8.kubernetes.api.model.PodStatus;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.VolumeBuilder;
import io.fabric8.kubernetes.api.model.VolumeMountBuilder;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The local kubelet in image mode on the real control plane: pods run from OCI image archives in
 * namespaces — a shell image made here from this machine's binaries, and Stepwise's runtime image
 * from {@code target/images} (built by {@code python3 images/build.py operator runtime}; this test
 * fails, saying so, when it is missing). Checks the image's ENTRYPOINT/CMD/USER/WORKDIR/ENV, the
 * securityContext, volumes at their paths, restarts, SIGTERM/grace/SIGKILL and exit codes against
 * the same pods run as processes of the host, training onto a claim and a checkpoint on SIGTERM,
 * and measures pod start latency in both modes.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LocalKubeletImagesE2E {

  private static final Duration WAIT = Duration.ofSeconds(90);
  private static final String SHELL = "localhost/stepwise-test/shell:1";

  @TempDir static Path work;

  private static Path repo;
  private static String runtimeImage;
  private static ControlPlane controlPlane;
  private static KubernetesClient client;
  private static ImageArchives archives;
  private static LocalKubelet kubelet;

  @BeforeAll
  static void start() throws Exception {
    repo = ControlPlaneBinary.repo();
    runtimeImage = exampleImage(repo);
    var built = ImageArchives.checkoutArchives(repo);
    var runtimeArchive = archiveHolding(built, runtimeImage);
    // One directory: the runtime image's archive (linked) and the shell image written here.
    var dir = Files.createDirectories(work.resolve("archives"));
    Files.createLink(dir.resolve(runtimeArchive.getFileName()), runtimeArchive);
    TestImages.shellImage(dir.resolve("shell.oci.tar"), SHELL);
    archives = new ImageArchives(dir, work.resolve("rootfs-cache"));

    controlPlane =
        ControlPlane.start(
            work.resolve("controlplane"), ControlPlaneBinary.resolve(repo), 0, false);
    client = controlPlane.client(controlPlane.credentials().admin());
    kubelet =
        new LocalKubelet(
                controlPlane.client(controlPlane.credentials().kubelet()),
                work.resolve("kubelet"),
                LocalImages.ofCheckout(repo).withArchives(archives),
                controlPlane.apiPort())
            .start();
  }

  /** The runtime image examples/sft-run.yaml names (what the chart and examples use). */
  static String exampleImage(Path repo) throws Exception {
    var yaml = Files.readString(repo.resolve("examples/sft-run.yaml"));
    var matcher = Pattern.compile("(?m)^\\s+image:\\s*(\\S+)").matcher(yaml);
    assertTrue(matcher.find(), "examples/sft-run.yaml names an image");
    return matcher.group(1);
  }

  /** The archive of {@code dir} holding {@code image}; fails loudly when there is none. */
  static Path archiveHolding(Path dir, String image) {
    var found = new ImageArchives(dir, dir.resolve("unused-cache"));
    return found
        .archive(image)
        .orElseThrow(
            () ->
                new AssertionError(
                    "image mode tests need the OCI archive of "
                        + image
                        + " in "
                        + dir
                        + " (it holds "
                        + found.references()
                        + "): build it first with `python3 images/build.py operator runtime`"));
  }

  @AfterAll
  static void stop() {
    if (kubelet != null) {
      kubelet.close();
    }
    if (client != null) {
      client.close();
    }
    if (controlPlane != null) {
      controlPlane.close();
    }
  }

  private static String namespace(String name) {
    client
        .resource(new NamespaceBuilder().withNewMetadata().withName(name).endMetadata().build())
        .create();
    return name;
  }

  /** A shell-image pod running {@code script} through the image's ENTRYPOINT (sh -c). */
  private static PodSpec shell(String script) {
    return new PodSpecBuilder()
        .addNewContainer()
        .withName("main")
        .withImage(SHELL)
        .withArgs(script)
        .endContainer()
        .build();
  }

  /** The same script as a process of the host (the kubelet's process mode). */
  private static PodSpec host(String script) {
    return new PodSpecBuilder()
        .addNewContainer()
        .withName("main")
        .withImage(LocalImages.HOST)
        .withCommand("/bin/sh", "-c", script)
        .endContainer()
        .build();
  }

  private static void createPod(String ns, String name, PodSpec spec) {
    client
        .resource(
            new PodBuilder()
                .withNewMetadata()
                .withName(name)
                .withNamespace(ns)
                .withLabels(Map.of("app", name))
                .endMetadata()
                .withSpec(spec)
                .build())
        .create();
  }

  private static PodStatus awaitStatus(String ns, String pod, Predicate<PodStatus> condition) {
    return await()
        .atMost(WAIT)
        .until(
            () -> {
              var p = client.pods().inNamespace(ns).withName(pod).get();
              return p == null ? null : p.getStatus();
            },
            s -> s != null && condition.test(s));
  }

  private static ContainerState state(PodStatus status) {
    return status.getContainerStatuses() == null || status.getContainerStatuses().isEmpty()
        ? new ContainerState()
        : status.getContainerStatuses().get(0).getState();
  }

  private static boolean waitingFor(PodStatus s, String reason) {
    return state(s).getWaiting() != null && reason.equals(state(s).getWaiting().getReason());
  }

  private static boolean terminated(PodStatus s) {
    return state(s).getTerminated() != null;
  }

  // --- the pods the kubelet's tests run as host processes, now from an image ------------------

  @Test
  @Order(2)
  void imageSettingsVolumesRestartsAndTerminationAsForHostProcesses() throws Exception {
    var ns = namespace("images-deploy");
    client
        .resource(
            new ConfigMapBuilder()
                .withNewMetadata()
                .withName("settings")
                .withNamespace(ns)
                .endMetadata()
                .withData(Map.of("greeting.txt", "hello from a configmap"))
                .build())
        .create();
    var spec =
        shell(
            "echo pod=$POD_NAME FROM_IMAGE=$FROM_IMAGE uid=$(id -u) gid=$(id -g) cwd=$(pwd)"
                + " host=$(cat /etc/hostname); cat /etc/settings/greeting.txt; echo;"
                + " trap 'echo got SIGTERM; exit 0' TERM; while true; do sleep 0.1; done");
    var container = spec.getContainers().get(0);
    container.setEnv(
        List.of(
            new EnvVarBuilder()
                .withName("POD_NAME")
                .withNewValueFrom()
                .withNewFieldRef()
                .withFieldPath("metadata.name")
                .endFieldRef()
                .endValueFrom()
                .build()));
    container.setVolumeMounts(
        List.of(
            new VolumeMountBuilder().withName("settings").withMountPath("/etc/settings").build()));
    spec.setVolumes(
        List.of(
            new VolumeBuilder()
                .withName("settings")
                .withNewConfigMap()
                .withName("settings")
                .endConfigMap()
                .build()));
    spec.setTerminationGracePeriodSeconds(5L);
    client
        .resource(
            new DeploymentBuilder()
                .withNewMetadata()
                .withName("web")
                .withNamespace(ns)
                .endMetadata()
                .withNewSpec()
                .withReplicas(1)
                .withNewSelector()
                .withMatchLabels(Map.of("app", "web"))
                .endSelector()
                .withNewTemplate()
                .withNewMetadata()
                .withLabels(Map.of("app", "web"))
                .endMetadata()
                .withSpec(spec)
                .endTemplate()
                .endSpec()
                .build())
        .create();
    await()
        .atMost(WAIT)
        .until(
            () -> client.apps().deployments().inNamespace(ns).withName("web").get().getStatus(),
            s -> s != null && Integer.valueOf(1).equals(s.getAvailableReplicas()));
    var name = onlyPod(ns, "web").getMetadata().getName();
    await()
        .atMost(WAIT)
        .until(() -> kubelet.logTail(ns, name, 5), log -> log.contains("hello from a configmap"));
    var log = kubelet.logTail(ns, name, 5);
    assertTrue(
        log.contains(
            "pod="
                + name
                + " FROM_IMAGE=yes uid=1234 gid=1234 cwd=/home/app host="
                + name), // the image's USER, WORKDIR and ENV; the pod's name as host name
        log);

    // SIGKILL: restarted in place, counted; the whole container went with it.
    var first = ProcessHandle.of(kubelet.processes(ns).get(name).pid()).orElseThrow();
    var firstTree = new ArrayList<>(first.descendants().toList());
    assertTrue(firstTree.size() >= 2, "init and the command run below the helper");
    kubelet.kill(ns, name);
    awaitStatus(
        ns,
        name,
        s ->
            s.getContainerStatuses().get(0).getRestartCount() == 1
                && state(s).getRunning() != null);
    assertNotEquals(first.pid(), kubelet.processes(ns).get(name).pid());
    await() // no process of the killed container is left
        .atMost(Duration.ofSeconds(10))
        .until(() -> firstTree.stream().noneMatch(ProcessHandle::isAlive));

    // Delete: SIGTERM reaches the command within the grace period; the object goes; a successor.
    var process = ProcessHandle.of(kubelet.processes(ns).get(name).pid()).orElseThrow();
    var tree = process.descendants().toList();
    client.pods().inNamespace(ns).withName(name).delete();
    await().atMost(WAIT).until(() -> client.pods().inNamespace(ns).withName(name).get() == null);
    assertFalse(process.isAlive(), "the deleted pod's helper is gone");
    await() // and its container's processes
        .atMost(Duration.ofSeconds(10))
        .until(() -> tree.stream().noneMatch(ProcessHandle::isAlive));
    assertTrue(
        kubelet.logTail(ns, name, 5).contains("got SIGTERM"),
        "stopped with SIGTERM first: " + kubelet.logTail(ns, name, 5));
    assertNotEquals(name, onlyPod(ns, "web").getMetadata().getName());
  }

  private static Pod onlyPod(String ns, String app) {
    return await()
        .atMost(WAIT)
        .until(
            () ->
                client.pods().inNamespace(ns).withLabel("app", app).list().getItems().stream()
                    .filter(p -> p.getMetadata().getDeletionTimestamp() == null)
                    .toList(),
            pods -> pods.size() == 1)
        .get(0);
  }

  @Test
  @Order(3)
  void exitCodesSignalsAndGracePeriodsAreThoseOfHostProcesses() {
    var ns = namespace("images-exits");
    // script -> what both modes must report
    var scripts =
        Map.of(
            "ok", "echo done",
            "three", "exit 3",
            "killed", "kill -KILL $$$$", // $$ after Kubernetes' $$ unescaping: the shell's pid
            "termed", "kill -TERM $$$$");
    for (var entry : scripts.entrySet()) {
      for (var mode : List.of("image", "host")) {
        var spec = mode.equals("image") ? shell(entry.getValue()) : host(entry.getValue());
        spec.setRestartPolicy("Never");
        createPod(ns, entry.getKey() + "-" + mode, spec);
      }
    }
    for (var name : scripts.keySet()) {
      var image = awaitStatus(ns, name + "-image", LocalKubeletImagesE2E::terminated);
      var host = awaitStatus(ns, name + "-host", LocalKubeletImagesE2E::terminated);
      assertEquals(
          state(host).getTerminated().getExitCode(),
          state(image).getTerminated().getExitCode(),
          name + ": exit code");
      assertEquals(
          state(host).getTerminated().getReason(), state(image).getTerminated().getReason(), name);
      assertEquals(host.getPhase(), image.getPhase(), name);
    }
    assertEquals(3, state(awaitStatus(ns, "three-image", s -> true)).getTerminated().getExitCode());
    assertEquals(
        137, state(awaitStatus(ns, "killed-image", s -> true)).getTerminated().getExitCode());
    assertEquals(
        143, state(awaitStatus(ns, "termed-image", s -> true)).getTerminated().getExitCode());

    // A command that ignores SIGTERM is SIGKILLed when its grace period ends, in both modes.
    for (var mode : List.of("image", "host")) {
      var script = "trap '' TERM; echo ignoring; while true; do sleep 0.1; done";
      var spec = mode.equals("image") ? shell(script) : host(script);
      spec.setTerminationGracePeriodSeconds(2L);
      var name = "stubborn-" + mode;
      createPod(ns, name, spec);
      awaitStatus(ns, name, s -> state(s).getRunning() != null);
      await().atMost(WAIT).until(() -> kubelet.logTail(ns, name, 3).contains("ignoring"));
      var process = ProcessHandle.of(kubelet.processes(ns).get(name).pid()).orElseThrow();
      var started = System.nanoTime();
      client.pods().inNamespace(ns).withName(name).delete();
      await().atMost(WAIT).until(() -> client.pods().inNamespace(ns).withName(name).get() == null);
      var took = Duration.ofNanos(System.nanoTime() - started);
      assertFalse(process.isAlive(), mode);
      assertTrue(took.toMillis() >= 1900, mode + ": SIGKILL only after the grace period: " + took);
      assertTrue(took.toSeconds() < 15, mode + ": SIGKILL soon after it: " + took);
    }
  }

  @Test
  @Order(4)
  void securityContextRootFilesystemAndMissingThingsAsAKubeletReportsThem() {
    var ns = namespace("images-security");
    var locked =
        shell(
            "touch /new-file 2>/dev/null && echo root-writable || echo root-read-only;"
                + " touch /tmp/scratch && echo tmp-writable; echo uid=$(id -u) groups=$(id -G)");
    locked.setRestartPolicy("Never");
    locked.setSecurityContext(
        new io.fabric8.kubernetes.api.model.PodSecurityContextBuilder()
            .withRunAsUser(4321L)
            .withRunAsGroup(4321L)
            .withFsGroup(777L)
            .build());
    var c = locked.getContainers().get(0);
    c.setSecurityContext(
        new io.fabric8.kubernetes.api.model.SecurityContextBuilder()
            .withReadOnlyRootFilesystem(true)
            .withAllowPrivilegeEscalation(false)
            .build());
    c.setVolumeMounts(
        List.of(new VolumeMountBuilder().withName("tmp").withMountPath("/tmp").build()));
    locked.setVolumes(
        List.of(new VolumeBuilder().withName("tmp").withNewEmptyDir().endEmptyDir().build()));
    createPod(ns, "locked", locked);
    var done = awaitStatus(ns, "locked", LocalKubeletImagesE2E::terminated);
    var log = kubelet.logTail(ns, "locked", 5);
    assertEquals("Succeeded", done.getPhase(), log);
    assertTrue(log.contains("root-read-only"), log);
    assertTrue(log.contains("tmp-writable"), "an emptyDir is writable for any user: " + log);
    assertTrue(log.contains("uid=4321 groups=4321 777"), "runAsUser, runAsGroup, fsGroup: " + log);

    var writable = shell("touch /new-file && echo root-writable");
    writable.setRestartPolicy("Never");
    createPod(ns, "writable", writable);
    awaitStatus(ns, "writable", LocalKubeletImagesE2E::terminated);
    assertTrue(kubelet.logTail(ns, "writable", 3).contains("root-writable"));

    var root = shell("id");
    root.setSecurityContext(
        new io.fabric8.kubernetes.api.model.PodSecurityContextBuilder()
            .withRunAsUser(0L)
            .withRunAsNonRoot(true)
            .build());
    createPod(ns, "as-root", root);
    var refused = awaitStatus(ns, "as-root", s -> waitingFor(s, "CreateContainerConfigError"));
    assertTrue(
        state(refused).getWaiting().getMessage().contains("runAsNonRoot"),
        state(refused).getWaiting().getMessage());

    var missingCommand = shell("unused");
    missingCommand.getContainers().get(0).setCommand(List.of("/no/such/program"));
    createPod(ns, "no-command", missingCommand);
    var noCommand = awaitStatus(ns, "no-command", s -> waitingFor(s, "RunContainerError"));
    assertTrue(
        state(noCommand).getWaiting().getMessage().contains("/no/such/program"),
        state(noCommand).getWaiting().getMessage());

    var missingImage = shell("unused");
    missingImage.getContainers().get(0).setImage("ghcr.io/stepwise-dev/no-such-image:0.0.1");
    createPod(ns, "no-image", missingImage);
    var noImage = awaitStatus(ns, "no-image", s -> waitingFor(s, "ErrImagePull"));
    var message = state(noImage).getWaiting().getMessage();
    assertTrue(message.contains("ghcr.io/stepwise-dev/no-such-image:0.0.1"), message);
    assertTrue(message.contains(archives.directory().toString()), message);
  }

  // --- Stepwise's runtime image -----------------------------------------------------------------

  private static final String RUN_DIR = "/var/lib/stepwise/run";

  /** A runtime-image pod as the operator makes them: non-root, read-only root, /tmp, a claim. */
  private static PodSpec runtimePod(String image, List<String> command, List<String> args) {
    var spec =
        new PodSpecBuilder()
            .withRestartPolicy("Never")
            .withTerminationGracePeriodSeconds(30L)
            .withNewSecurityContext()
            .withRunAsNonRoot(true)
            .withRunAsUser(65532L)
            .withRunAsGroup(65532L)
            .withFsGroup(65532L)
            .endSecurityContext()
            .addNewContainer()
            .withName("trainer")
            .withImage(image)
            .withCommand(command)
            .withArgs(args)
            .withNewSecurityContext()
            .withReadOnlyRootFilesystem(true)
            .withAllowPrivilegeEscalation(false)
            .withNewCapabilities()
            .withDrop("ALL")
            .endCapabilities()
            .endSecurityContext()
            .addNewVolumeMount()
            .withName("tmp")
            .withMountPath("/tmp")
            .endVolumeMount()
            .addNewVolumeMount()
            .withName("config")
            .withMountPath("/etc/stepwise")
            .withReadOnly(true)
            .endVolumeMount()
            .endContainer()
            .addNewVolume()
            .withName("tmp")
            .withNewEmptyDir()
            .endEmptyDir()
            .endVolume()
            .addNewVolume()
            .withName("config")
            .withNewConfigMap()
            .withName("config")
            .endConfigMap()
            .endVolume()
            .build();
    return spec;
  }

  private static void withClaim(PodSpec spec, String claim) {
    spec.getContainers()
        .get(0)
        .getVolumeMounts()
        .add(new VolumeMountBuilder().withName("run").withMountPath(RUN_DIR).build());
    spec.getVolumes()
        .add(
            new VolumeBuilder()
                .withName("run")
                .withNewPersistentVolumeClaim()
                .withClaimName(claim)
                .endPersistentVolumeClaim()
                .build());
  }

  private static void runtimeConfig(String ns) throws Exception {
    var dir = repo.resolve("examples/reverse-text");
    client
        .resource(
            new ConfigMapBuilder()
                .withNewMetadata()
                .withName("config")
                .withNamespace(ns)
                .endMetadata()
                .withData(
                    Map.of(
                        "sft.toml", Files.readString(dir.resolve("sft.toml")),
                        "infer.toml", Files.readString(dir.resolve("infer.toml"))))
                .build())
        .create();
  }

  @Test
  @Order(5)
  void theRuntimeImageTrainsOntoAClaimAndCheckpointsWhenItsPodIsDeleted() throws Exception {
    var ns = namespace("images-runtime");
    runtimeConfig(ns);
    client
        .resource(
            new PersistentVolumeClaimBuilder()
                .withNewMetadata()
                .withName("run")
                .withNamespace(ns)
                .endMetadata()
                .withNewSpec()
                .withAccessModes("ReadWriteOnce")
                .withNewResources()
                .withRequests(Map.of("storage", new Quantity("1Gi")))
                .endResources()
                .endSpec()
                .build())
        .create();
    var sft = List.of("sft", "@", "/etc/stepwise/sft.toml", "--output-dir", RUN_DIR);
    var args = new ArrayList<>(sft);
    args.addAll(List.of("--max-steps", "4", "--ckpt"));
    var train = runtimePod(runtimeImage, List.of("stepwise"), args);
    withClaim(train, "run");
    createPod(ns, "train", train);
    var done = awaitStatus(ns, "train", LocalKubeletImagesE2E::terminated);
    var log = kubelet.logTail(ns, "train", 30);
    assertEquals("Succeeded", done.getPhase(), log);
    var claim = kubelet.claimDirectory(ns, "run");
    var step = claim.resolve("checkpoints/step_4");
    assertTrue(Files.isRegularFile(step.resolve("manifest.json")), log);
    try (var files = Files.walk(step)) {
      for (var file : files.toList()) {
        assertEquals(65532, Files.getAttribute(file, "unix:uid"), "written as the pod's user");
      }
    }

    // A long run, deleted while it trains: SIGTERM reaches the trainer in its container, which
    // saves the step in flight (the runtime's preemption save) and exits within the grace period.
    var longArgs = new ArrayList<>(sft);
    longArgs.addAll(List.of("--max-steps", "100000", "--ckpt"));
    var preempted = runtimePod(runtimeImage, List.of("stepwise"), longArgs);
    withClaim(preempted, "run");
    createPod(ns, "preempted", preempted);
    await()
        .atMost(WAIT)
        .until(() -> kubelet.logTail(ns, "preempted", 5), l -> l.contains("step 50/"));
    client.pods().inNamespace(ns).withName("preempted").delete();
    await()
        .atMost(WAIT)
        .until(() -> client.pods().inNamespace(ns).withName("preempted").get() == null);
    var tail = kubelet.logTail(ns, "preempted", 10);
    var saved = Pattern.compile("checkpoint \\S*step_(\\d+) written.*preemption").matcher(tail);
    assertTrue(saved.find(), "a preemption checkpoint: " + tail);
    assertTrue(
        Files.isRegularFile(claim.resolve("checkpoints/step_" + saved.group(1) + "/manifest.json")),
        tail);
  }

  // --- how long a pod takes to start
  // --------------------------------------------------------------

  /** Create → Running (container started) and create → Ready of one inference pod. */
  private record Start(Duration running, Duration ready) {}

  private static Start inferencePod(String ns, String name, boolean imageMode) {
    var args = List.of("inference", "@", "/etc/stepwise/infer.toml", "--server.port", "8000");
    var spec =
        imageMode
            ? runtimePod(runtimeImage, List.of("stepwise"), args)
            : runtimePod(LocalImages.HOST, LocalImages.ofCheckout(repo).runtimeCommand(), args);
    spec.setRestartPolicy("Always");
    var container = spec.getContainers().get(0);
    if (!imageMode) {
      // A host process uses the host's /tmp; with the emptyDir mounted there, process mode would
      // rewrite a command path under /tmp (a checkout in /tmp) into the volume's directory.
      container.getVolumeMounts().removeIf(m -> m.getMountPath().equals("/tmp"));
    }
    container.setPorts(
        List.of(
            new io.fabric8.kubernetes.api.model.ContainerPortBuilder()
                .withName("http")
                .withContainerPort(8000)
                .build()));
    container.setReadinessProbe(
        new io.fabric8.kubernetes.api.model.ProbeBuilder()
            .withNewHttpGet()
            .withPath("/health")
            .withNewPort("http")
            .endHttpGet()
            .withPeriodSeconds(1)
            .build());
    var started = System.nanoTime();
    createPod(ns, name, spec);
    Duration running = null;
    var deadline = started + Duration.ofSeconds(180).toNanos();
    while (System.nanoTime() < deadline) {
      var pod = client.pods().inNamespace(ns).withName(name).get();
      var status = pod == null ? null : pod.getStatus();
      if (status != null && running == null && state(status).getRunning() != null) {
        running = Duration.ofNanos(System.nanoTime() - started);
      }
      if (status != null
          && status.getConditions() != null
          && status.getConditions().stream()
              .anyMatch(c -> c.getType().equals("Ready") && c.getStatus().equals("True"))) {
        var ready = Duration.ofNanos(System.nanoTime() - started);
        client.pods().inNamespace(ns).withName(name).withGracePeriod(5).delete();
        return new Start(running == null ? ready : running, ready);
      }
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
    throw new AssertionError(
        "pod " + name + " was not ready in 180 s:\n" + kubelet.logTail(ns, name, 30));
  }

  @Test
  @Order(1)
  void podStartLatencyInImageModeAndProcessMode() throws Exception {
    var ns = namespace("images-latency");
    runtimeConfig(ns);
    var results = new ArrayList<String>();
    // The first image-mode pod finds the image not unpacked yet (this test's cache is empty).
    var cold = inferencePod(ns, "cold-image", true);
    assertEquals(1, archives.unpacks().size(), "the runtime image was unpacked once");
    var unpack = archives.unpacks().get(0);
    var image = new ArrayList<Start>();
    var process = new ArrayList<Start>();
    for (int i = 0; i < 3; i++) {
      process.add(inferencePod(ns, "process-" + i, false));
      image.add(inferencePod(ns, "image-" + i, true));
    }
    assertEquals(1, archives.unpacks().size(), "later pods use the unpacked image");
    results.add(
        String.format(
            "unpack of %s (cold, %d files, %.0f MB): %.1f s; cached: no unpack",
            runtimeImage, unpack.files(), unpack.bytes() / 1e6, unpack.took().toMillis() / 1e3));
    results.add(
        String.format(
            "image mode, cold cache: create -> Running %.2f s, -> Ready %.2f s",
            cold.running().toMillis() / 1e3, cold.ready().toMillis() / 1e3));
    results.add(summary("image mode, cached", image));
    results.add(summary("process mode", process));
    System.out.println(
        "BENCHMARK pod start (inference pod of the runtime, readiness /health, median of 3):\n  "
            + String.join("\n  ", results));
  }

  private static String summary(String what, List<Start> starts) {
    return String.format(
        "%s: create -> Running %.2f s, -> Ready %.2f s (all ready: %s)",
        what,
        median(starts.stream().map(Start::running).toList()),
        median(starts.stream().map(Start::ready).toList()),
        starts.stream().map(s -> String.format("%.2f", s.ready().toMillis() / 1e3)).toList());
  }

  private static double median(List<Duration> values) {
    var sorted = values.stream().mapToLong(Duration::toMillis).sorted().toArray();
    return sorted[sorted.length / 2] / 1e3;
  }
}
