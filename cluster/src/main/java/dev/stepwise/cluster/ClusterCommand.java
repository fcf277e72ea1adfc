package dev.stepwise.cluster;

import dev.stepwise.cluster.controlplane.ControlPlane;
import dev.stepwise.cluster.controlplane.ControlPlaneBinary;
import dev.stepwise.cluster.controlplane.ManagedProcess;
import dev.stepwise.cluster.kubelet.ImageArchives;
import dev.stepwise.cluster.kubelet.LocalKubelet;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * {@code stepwise up | down | status}: a local Kubernetes cluster with Stepwise installed, for
 * trying the operator on one machine.
 *
 * <ul>
 *   <li>{@code up [--port 6443] [--images[=DIR]]} builds what is missing, starts the stack in the
 *       background ({@code run}), waits until the operator is ready and prints the {@code export
 *       KUBECONFIG} line. A stack that is already up is left as it is; the state of a stack that is
 *       not running any more is removed first (every {@code up} starts a fresh cluster). With
 *       {@code --images} pods run from the OCI image archives of {@code target/images} (or DIR) in
 *       namespaces, instead of as processes of this checkout's jars.
 *   <li>{@code down} stops everything {@code up} started; harmless when nothing runs.
 * </ul>
 *
 * State: {@code <repo>/.stepwise/cluster/} (kubeconfig, logs, etcd data, volumes, pod logs).
 */
public final class ClusterCommand {

  private static final int DEFAULT_PORT = 6443;
  private static final Duration UP_TIMEOUT = Duration.ofMinutes(5);
  private static final Duration DOWN_GRACE = Duration.ofSeconds(60);

  private ClusterCommand() {}

  public static void main(String[] args) throws Exception {
    System.exit(run(args));
  }

  static int run(String[] args) throws Exception {
    if (args.length == 0) {
      return usage();
    }
    var repo = ControlPlaneBinary.repo();
    var state = repo.resolve(".stepwise/cluster");
    var port = DEFAULT_PORT;
    Path images = null;
    for (int i = 1; i < args.length; i++) {
      if (args[i].equals("--port") && i + 1 < args.length && args[i + 1].matches("\\d{1,5}")) {
        port = Integer.parseInt(args[++i]);
      } else if (args[i].equals("--images") || args[i].startsWith("--images=")) {
        var dir = args[i].equals("--images") ? "true" : args[i].substring("--images=".length());
        images = LocalCluster.Options.imageArchivesFrom(dir, repo);
      } else {
        System.err.println("error: unknown argument '" + args[i] + "' for " + args[0]);
        return usage();
      }
    }
    return switch (args[0]) {
      case "up" -> up(repo, state, port, images);
      case "down" -> down(state);
      case "status" -> status(state);
      case "run" -> foreground(repo, state, port, images);
      default -> usage();
    };
  }

  private static int usage() {
    System.err.println(
        """
        usage: stepwise up [--port N] [--images[=DIR]]
                                        start a local cluster with Stepwise installed (default port
                                        6443); --images: pods run from the OCI image archives of
                                        target/images (or DIR) in namespaces, not as host processes
               stepwise down            stop it
               stepwise status          say whether it runs""");
    return 2;
  }

  private static Path pidFile(Path state) {
    return state.resolve("stack.pid");
  }

  private static Path readyFile(Path state) {
    return state.resolve("ready");
  }

  private static Path kubeconfig(Path state) {
    return state.resolve("kubeconfig");
  }

  private static int up(Path repo, Path state, int port, Path images) throws Exception {
    if (running(state)) {
      System.out.println("stepwise: the local cluster is already up.");
      printExport(state);
      return 0;
    }
    if (Files.exists(state)) {
      var stopped = stopLeftovers(state);
      System.err.println(
          "stepwise: removing the state of an earlier local cluster at "
              + state
              + (stopped > 0 ? " (stopped " + stopped + " leftover processes)" : ""));
      FileTrees.delete(state);
    }
    if (!portFree(port)) {
      System.err.println(
          "error: port "
              + port
              + " on 127.0.0.1 is taken by another process; free it or choose another with"
              + " --port N");
      return 1;
    }
    if (images != null
        && new ImageArchives(images, ImageArchives.defaultCache()).references().isEmpty()) {
      System.err.println(
          "error: --images: there are no OCI image archives in "
              + images
              + "; build them with: python3 images/build.py operator runtime");
      return 1;
    }
    // Built here, in the foreground, so that the first build's progress is seen.
    try {
      ControlPlaneBinary.resolve(repo);
    } catch (IOException e) {
      System.err.println("error: " + e.getMessage());
      return 3;
    }
    Files.createDirectories(state);
    var log = state.resolve("stack.log");
    var java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    var command = new ArrayList<String>();
    if (Files.isExecutable(Path.of("/usr/bin/setsid"))) {
      command.add("/usr/bin/setsid"); // its own session: a Ctrl-C of this shell does not reach it
    }
    command.addAll(
        List.of(
            java,
            "-Xmx512m",
            "-XX:+UseSerialGC",
            "-Dstepwise.repo=" + repo,
            "-cp",
            System.getProperty("java.class.path"),
            ClusterCommand.class.getName(),
            "run",
            "--port",
            String.valueOf(port)));
    if (images != null) {
      command.add("--images=" + images);
    }
    var started = System.nanoTime();
    var process =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
            .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
            .start();
    System.err.println("stepwise: starting the local cluster (log: " + log + ")...");
    var deadline = System.nanoTime() + UP_TIMEOUT.toNanos();
    while (System.nanoTime() < deadline) {
      if (Files.exists(readyFile(state))) {
        System.err.printf(
            "stepwise: up in %.1f s: Kubernetes %s, the local kubelet (%s), Stepwise installed"
                + " from helm/stepwise%n",
            (System.nanoTime() - started) / 1e9,
            ControlPlane.KUBERNETES_VERSION,
            images == null ? "pods as processes" : "pods from the image archives of " + images);
        printExport(state);
        return 0;
      }
      if (!process.isAlive()) {
        System.err.println(
            "error: the local cluster stopped while starting (exit "
                + process.exitValue()
                + "); the end of "
                + log
                + ":\n"
                + ManagedProcess.tail(log, 25));
        stopLeftovers(state);
        return 1;
      }
      Thread.sleep(200);
    }
    System.err.println(
        "error: the local cluster was not up after "
            + UP_TIMEOUT.toMinutes()
            + " min; stopping it. The end of "
            + log
            + ":\n"
            + ManagedProcess.tail(log, 25));
    down(state);
    return 1;
  }

  private static void printExport(Path state) {
    System.out.println("export KUBECONFIG=" + kubeconfig(state));
  }

  /**
   * The stack itself, in the foreground until SIGTERM: what {@code up} starts in the background.
   */
  private static int foreground(Path repo, Path state, int port, Path images) throws Exception {
    Files.createDirectories(state);
    Files.writeString(
        pidFile(state), Long.toString(ProcessHandle.current().pid()), StandardCharsets.UTF_8);
    var cluster =
        LocalCluster.start(new LocalCluster.Options(repo, state, port, true, Map.of(), images));
    var done = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  System.err.println("stepwise: stopping the local cluster");
                  try {
                    Files.deleteIfExists(readyFile(state));
                  } catch (IOException ignored) {
                    // going down anyway
                  }
                  cluster.close();
                  done.countDown();
                },
                "stack-shutdown"));
    Files.copy(
        cluster.kubeconfig(), kubeconfig(state), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    Files.writeString(readyFile(state), kubeconfig(state).toString(), StandardCharsets.UTF_8);
    done.await();
    return 0;
  }

  private static int down(Path state) throws IOException {
    if (!Files.exists(state)) {
      System.out.println("stepwise: no local cluster to stop.");
      return 0;
    }
    var stopped = stopLeftovers(state);
    Files.deleteIfExists(readyFile(state));
    System.out.println(
        stopped > 0
            ? "stepwise: the local cluster is stopped (" + stopped + " processes)."
            : "stepwise: no local cluster was running.");
    return 0;
  }

  private static int status(Path state) {
    if (running(state)) {
      System.out.println("stepwise: the local cluster is up.");
      printExport(state);
      return 0;
    }
    System.out.println("stepwise: no local cluster is running.");
    return 1;
  }

  private static boolean running(Path state) {
    try {
      if (!Files.exists(pidFile(state)) || !Files.exists(readyFile(state))) {
        return false;
      }
      var pid = Long.parseLong(Files.readString(pidFile(state)).trim());
      return ProcessHandle.of(pid)
          .filter(ProcessHandle::isAlive)
          .filter(p -> ManagedProcess.commandLine(p).contains(ClusterCommand.class.getName()))
          .isPresent();
    } catch (IOException | NumberFormatException e) {
      return false;
    }
  }

  /**
   * Stops the stack process (which stops its children), then whatever a killed stack left: the
   * control-plane processes by their pid files and pod processes by their directories.
   */
  private static int stopLeftovers(Path state) throws IOException {
    var stopped = 0;
    if (ManagedProcess.stopRecorded(pidFile(state), ClusterCommand.class.getName(), DOWN_GRACE)) {
      stopped++;
    }
    var pids = state.resolve("controlplane/pids");
    if (Files.isDirectory(pids)) {
      try (var files = Files.list(pids)) {
        for (var file : files.toList()) {
          if (ManagedProcess.stopRecorded(
              file, ControlPlane.PROCESS_MARKER, Duration.ofSeconds(10))) {
            stopped++;
          }
        }
      }
    }
    stopped += LocalKubelet.stopOrphans(state.resolve("kubelet"), Duration.ofSeconds(5));
    return stopped;
  }

  private static boolean portFree(int port) {
    try (var socket = new ServerSocket()) {
      socket.setReuseAddress(true);
      socket.bind(new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), port));
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
