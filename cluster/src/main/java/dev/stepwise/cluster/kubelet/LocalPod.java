package dev.stepwise.cluster.kubelet;

import dev.stepwise.cluster.controlplane.ManagedProcess;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Pod;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.ProcessBuilder.Redirect;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.IntPredicate;

/**
 * One pod the local kubelet runs: its identity in the API, and the local process that is its
 * container (one container per pod), restarted in place like a kubelet restarts a container.
 */
public final class LocalPod {

  /** Where the pod stands, as the kubelet reports it in the pod's status. */
  public enum State {
    /** Not started yet: waiting for its volumes, or in back-off before a restart. */
    WAITING,
    RUNNING,
    /** Exited and not going to be restarted. */
    TERMINATED
  }

  final String slot;
  final String name;
  final String uid;
  final Map<String, String> labels;
  final Map<String, String> annotations;
  final String namespace;
  final Pod spec;
  final Path workDir;
  final Path log;

  /**
   * The pod's IP as its status shows it (for Endpoints and EndpointSlices, which refuse loopback
   * addresses); the process itself listens on 127.0.0.1 and is reached through its local ports.
   */
  final String podIp;

  final Instant created = Instant.now();

  private ContainerLaunch launch;
  private Process process;
  private State state = State.WAITING;
  private String waitingReason = "ContainerCreating";
  private String waitingMessage;
  private int restartCount;
  private int starts;
  private Integer lastExitCode;
  private Instant startedAt;
  private Instant finishedAt;
  private Instant nextStart = Instant.EPOCH;
  private boolean ready;
  private Instant readySince = created;

  /** Pod {@code pod} (as bound to this node), its network identity {@code slot}. */
  LocalPod(String slot, Pod pod, String podIp, Path workDir, Path log) {
    this.podIp = podIp;
    var metadata = pod.getMetadata();
    this.slot = slot;
    this.name = metadata.getName();
    this.namespace = metadata.getNamespace();
    this.uid = metadata.getUid() != null ? metadata.getUid() : UUID.randomUUID().toString();
    this.labels = metadata.getLabels() == null ? Map.of() : Map.copyOf(metadata.getLabels());
    this.annotations =
        metadata.getAnnotations() == null ? Map.of() : Map.copyOf(metadata.getAnnotations());
    this.spec = pod;
    this.workDir = workDir;
    this.log = log;
  }

  /** Starts the container's process; a start after the first counts as a restart. */
  synchronized void start(ContainerLaunch launch) {
    this.launch = launch;
    try {
      Files.createDirectories(workDir);
      Files.createDirectories(log.getParent());
      var header =
          "--- pod "
              + name
              + " start #"
              + (starts + 1)
              + " at "
              + Instant.now()
              + ": "
              + String.join(" ", launch.command())
              + System.lineSeparator();
      Files.writeString(
          log,
          header,
          StandardCharsets.UTF_8,
          StandardOpenOption.CREATE,
          StandardOpenOption.APPEND);
      var builder =
          new ProcessBuilder(launch.command())
              .directory(workDir.toFile())
              .redirectErrorStream(true)
              .redirectOutput(Redirect.appendTo(log.toFile()))
              .redirectInput(Redirect.from(new File("/dev/null")));
      builder.environment().clear();
      builder.environment().putAll(launch.env());
      process = builder.start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start pod " + name + ": " + e.getMessage(), e);
    }
    if (starts > 0) {
      restartCount++;
    }
    starts++;
    state = State.RUNNING;
    startedAt = Instant.now();
    waitingReason = null;
    waitingMessage = null;
  }

  /**
   * Records that the container's process could not be started (no such executable, ...): the pod
   * shows {@code RunContainerError} and tries again after {@code backoff}.
   */
  synchronized void failedStart(String message, Duration backoff) {
    state = State.WAITING;
    waitingReason = "RunContainerError";
    waitingMessage = message;
    nextStart = Instant.now().plus(backoff);
  }

  /** Records that the pod cannot start yet, and why (shown in its status like a kubelet's). */
  synchronized void waiting(String reason, String message) {
    state = State.WAITING;
    waitingReason = reason;
    waitingMessage = message;
  }

  /**
   * Notices an exit of the process: returns its exit code once (then the pod waits {@code backoff}
   * to restart, or is terminated when {@code restarts} says no), and empty while it runs or after
   * the exit was seen.
   */
  synchronized Optional<Integer> reapExit(IntPredicate restarts, Duration backoff) {
    if (state != State.RUNNING || process == null || process.isAlive()) {
      return Optional.empty();
    }
    lastExitCode = process.exitValue();
    finishedAt = Instant.now();
    if (ready) {
      readySince = finishedAt;
    }
    ready = false;
    if (restarts.test(lastExitCode)) {
      state = State.WAITING;
      waitingReason = "CrashLoopBackOff";
      waitingMessage = "back-off " + backoff.toMillis() + " ms restarting container of " + name;
      nextStart = Instant.now().plus(backoff);
    } else {
      state = State.TERMINATED;
    }
    return Optional.of(lastExitCode);
  }

  synchronized boolean dueToStart() {
    return state == State.WAITING && !Instant.now().isBefore(nextStart);
  }

  /** SIGKILL to the process and its descendants, like an OOM kill or a node crash. */
  synchronized void kill() {
    if (process != null) {
      process.descendants().forEach(ProcessHandle::destroyForcibly);
      process.destroyForcibly();
    }
  }

  /**
   * SIGTERM, then SIGKILL after {@code grace}; returns whether the process is gone within the bound
   * (it always is unless the OS does not reap it).
   */
  boolean stop(Duration grace) {
    Process p;
    synchronized (this) {
      p = process;
    }
    if (p == null || !p.isAlive()) {
      return true;
    }
    ManagedProcess.stop(p.toHandle(), grace);
    return !p.isAlive();
  }

  /** What the downward API tells the container about its pod. */
  ContainerLaunch.Pod identity() {
    return new ContainerLaunch.Pod(
        name, namespace, uid, slot, labels, annotations, spec.getSpec().getServiceAccountName());
  }

  /** The container this pod runs (the first of its spec). */
  Container container() {
    return spec.getSpec().getContainers().get(0);
  }

  /** The pod's restart policy: Always (default), OnFailure or Never. */
  boolean restarts(int exitCode) {
    var policy = spec.getSpec().getRestartPolicy();
    return policy == null
        || policy.equals("Always")
        || (policy.equals("OnFailure") && exitCode != 0);
  }

  synchronized void ready(boolean ready) {
    var now = ready && state == State.RUNNING;
    if (now != this.ready) {
      readySince = Instant.now();
    }
    this.ready = now;
  }

  synchronized ContainerLaunch launch() {
    return launch;
  }

  synchronized Optional<ProcessHandle> handle() {
    return Optional.ofNullable(process).map(Process::toHandle);
  }

  synchronized State state() {
    return state;
  }

  synchronized int restartCount() {
    return restartCount;
  }

  /** What the pod's status shows: its state, the reason it waits, and its last exit. */
  synchronized Snapshot snapshot() {
    return new Snapshot(
        name,
        slot,
        state,
        waitingReason,
        waitingMessage,
        ready,
        readySince,
        restartCount,
        lastExitCode,
        startedAt,
        finishedAt,
        process == null ? -1 : process.pid(),
        process != null && process.isAlive(),
        launch == null ? List.of() : launch.command(),
        log);
  }

  /** A consistent view of a pod at one moment. */
  public record Snapshot(
      String name,
      String slot,
      State state,
      String waitingReason,
      String waitingMessage,
      boolean ready,
      Instant readySince,
      int restartCount,
      Integer lastExitCode,
      Instant startedAt,
      Instant finishedAt,
      long pid,
      boolean alive,
      List<String> command,
      Path log) {}
}
