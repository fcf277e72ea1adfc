package dev.stepwise.cluster.controlplane;

import java.io.File;
import java.io.IOException;
import java.lang.ProcessBuilder.Redirect;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A long-lived child process of the local cluster: output appended to a log file, its pid recorded
 * in a file (so that {@code stepwise down} can stop it even when the process that started it is
 * gone), stopped with SIGTERM and then SIGKILL after a grace period.
 */
public final class ManagedProcess {

  private final String name;
  private final Process process;
  private final Path pidFile;
  private final Path log;

  private ManagedProcess(String name, Process process, Path pidFile, Path log) {
    this.name = name;
    this.process = process;
    this.pidFile = pidFile;
    this.log = log;
  }

  /** Starts {@code command} with extra {@code env}, logging to {@code log}, pid in {@code pids}. */
  public static ManagedProcess start(
      String name, List<String> command, Map<String, String> env, Path log, Path pids)
      throws IOException {
    Files.createDirectories(log.getParent());
    Files.createDirectories(pids);
    Files.writeString(
        log,
        "--- " + name + " started: " + String.join(" ", command) + "\n",
        StandardCharsets.UTF_8,
        java.nio.file.StandardOpenOption.CREATE,
        java.nio.file.StandardOpenOption.APPEND);
    var builder =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(Redirect.appendTo(log.toFile()))
            .redirectInput(Redirect.from(new File("/dev/null")));
    builder.environment().putAll(env);
    var process = builder.start();
    var pidFile = pids.resolve(name + ".pid");
    Files.writeString(pidFile, Long.toString(process.pid()), StandardCharsets.UTF_8);
    return new ManagedProcess(name, process, pidFile, log);
  }

  public String name() {
    return name;
  }

  public long pid() {
    return process.pid();
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  public Path log() {
    return log;
  }

  /** The exit code, once the process has exited. */
  public Optional<Integer> exitCode() {
    return process.isAlive() ? Optional.empty() : Optional.of(process.exitValue());
  }

  /** The last {@code lines} lines of the log. */
  public String logTail(int lines) {
    return tail(log, lines);
  }

  /** SIGTERM, SIGKILL after {@code grace}; returns when the process is gone (bounded). */
  public void stop(Duration grace) {
    stop(process.toHandle(), grace);
    try {
      Files.deleteIfExists(pidFile);
    } catch (IOException e) {
      // a stale pid file is checked against the command line before it is acted on
    }
  }

  /** SIGKILL at once, like a crash; the pid file stays, as after a crash. */
  public void kill() {
    process.destroyForcibly();
    try {
      process.waitFor(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Stops {@code handle} and its descendants: SIGTERM, then SIGKILL after {@code grace}. */
  public static void stop(ProcessHandle handle, Duration grace) {
    var descendants = handle.descendants().toList();
    handle.destroy();
    try {
      handle.onExit().get(grace.toMillis(), TimeUnit.MILLISECONDS);
    } catch (Exception notYet) {
      handle.destroyForcibly();
      try {
        handle.onExit().get(10, TimeUnit.SECONDS);
      } catch (Exception e) {
        // reported by the caller through isAlive()
      }
    }
    descendants.forEach(ProcessHandle::destroyForcibly);
  }

  /**
   * Stops the process whose pid {@code pidFile} records, if it is still alive and its command line
   * contains {@code marker} (a pid may have been reused), then removes the file. Returns whether a
   * process was stopped.
   */
  public static boolean stopRecorded(Path pidFile, String marker, Duration grace)
      throws IOException {
    if (!Files.exists(pidFile)) {
      return false;
    }
    var text = Files.readString(pidFile, StandardCharsets.UTF_8).trim();
    Files.deleteIfExists(pidFile);
    if (!text.matches("\\d+")) {
      return false;
    }
    var handle = ProcessHandle.of(Long.parseLong(text));
    if (handle.isEmpty()
        || !handle.get().isAlive()
        || !commandLine(handle.get()).contains(marker)) {
      return false;
    }
    stop(handle.get(), grace);
    return true;
  }

  /** The full command line of a process (from /proc; the JDK's view truncates it). */
  public static String commandLine(ProcessHandle handle) {
    try {
      var raw = Files.readAllBytes(Path.of("/proc", Long.toString(handle.pid()), "cmdline"));
      return new String(raw, StandardCharsets.UTF_8).replace('\0', ' ');
    } catch (IOException e) {
      return handle.info().commandLine().orElse("");
    }
  }

  /** The last {@code lines} lines of {@code file}, or a note that there is none. */
  public static String tail(Path file, int lines) {
    try {
      var all = Files.readAllLines(file, StandardCharsets.UTF_8);
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException e) {
      return "(no log at " + file + ")";
    }
  }
}
