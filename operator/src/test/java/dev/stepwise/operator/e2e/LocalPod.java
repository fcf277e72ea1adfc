package dev.stepwise.operator.e2e;

import io.fabric8.kubernetes.api.model.ObjectMeta;
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
import java.util.concurrent.TimeUnit;
import java.util.function.IntPredicate;

/**
 * One pod the runner plays: its identity in the API, and the local process that is its container
 * (one container per pod), restarted in place like a kubelet restarts a container.
 */
final class LocalPod {

  /** Where the pod stands, as the kubelet reports it in the pod's status. */
  enum State {
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
  final Workloads.Workload owner;
  final String templateHash;
  final Path workDir;
  final Path log;
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

  /** Pod {@code metadata} (as the API server created it) in {@code slot} of {@code owner}. */
  LocalPod(String slot, ObjectMeta metadata, Workloads.Workload owner, Path workDir, Path log) {
    this.slot = slot;
    this.name = metadata.getName();
    this.uid = metadata.getUid() != null ? metadata.getUid() : UUID.randomUUID().toString();
    this.labels = metadata.getLabels() == null ? Map.of() : Map.copyOf(metadata.getLabels());
    this.annotations =
        metadata.getAnnotations() == null ? Map.of() : Map.copyOf(metadata.getAnnotations());
    this.owner = owner;
    this.templateHash = owner.templateHash();
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
    var descendants = p.descendants().toList();
    p.destroy();
    try {
      if (!p.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
        descendants.forEach(ProcessHandle::destroyForcibly);
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        p.waitFor(5, TimeUnit.SECONDS);
      }
      descendants.forEach(ProcessHandle::destroyForcibly);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      p.destroyForcibly();
    }
    return !p.isAlive();
  }

  synchronized void ready(boolean ready) {
    this.ready = ready && state == State.RUNNING;
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
  record Snapshot(
      String name,
      String slot,
      State state,
      String waitingReason,
      String waitingMessage,
      boolean ready,
      int restartCount,
      Integer lastExitCode,
      Instant startedAt,
      Instant finishedAt,
      long pid,
      boolean alive,
      List<String> command,
      Path log) {}
}
