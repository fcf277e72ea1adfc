package dev.stepwise.runtime.parallel;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.Loader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code --nproc N}: runs N ranks of one command on this machine, like torchrun. Each rank is a
 * child JVM with {@code RANK}, {@code LOCAL_RANK}, {@code WORLD_SIZE}, {@code MASTER_ADDR}
 * (loopback) and {@code MASTER_PORT} (a free port) set; its output is prefixed {@code [rank N]}.
 * When a rank exits non-zero, the others are stopped and the launcher fails naming that rank.
 */
public final class Launcher {

  private static final Logger LOG = LoggerFactory.getLogger(Launcher.class);

  private static final long STOP_GRACE_SECONDS = 10;

  private record Exit(int rank, int status) {}

  private Launcher() {}

  /** Runs {@code stepwise <command> <args>} as {@code nproc} ranks; returns the exit status. */
  public static int launch(int nproc, String command, List<String> args) {
    // Extract the natives once here: ranks extracting into an empty cache at once crash (SIGBUS).
    Loader.load(org.bytedeco.pytorch.global.torch.class);
    var port = freePort();
    var ranks = new ArrayList<Process>();
    var exits = new LinkedBlockingQueue<Exit>();
    var pumps = new ArrayList<Thread>();
    // The launcher stopped by a signal passes it on (SIGTERM) and gives the ranks the time of a
    // checkpoint on signal (ckpt.on-signal) before it kills them.
    var stopper = new Thread(() -> stop(ranks, SIGNAL_GRACE_SECONDS));
    Runtime.getRuntime().addShutdownHook(stopper);
    try {
      for (var rank = 0; rank < nproc; rank++) {
        var builder = rankProcess(rank, nproc, port, command, args);
        Process process;
        try {
          process = builder.start();
        } catch (IOException e) {
          throw new UncheckedIOException("cannot start rank " + rank, e);
        }
        ranks.add(process);
        pumps.add(rankOutput(process.getInputStream(), rank, false));
        pumps.add(rankOutput(process.getErrorStream(), rank, true));
        final var r = rank;
        process.onExit().thenAccept(p -> exits.add(new Exit(r, p.exitValue())));
      }
      LOG.info(
          String.format(
              "launched %d ranks (rendezvous 127.0.0.1:%d; pids %s)",
              nproc, port, ranks.stream().map(p -> Long.toString(p.pid())).toList()));
      for (var done = 0; done < nproc; done++) {
        var exit = exits.take();
        if (exit.status() != 0) {
          for (var pump : pumps) {
            pump.join(2000);
          }
          LOG.error(
              String.format(
                  "error: rank %d exited with status %d%s; stopping the other %d rank(s)",
                  exit.rank(), exit.status(), signal(exit.status()), nproc - 1));
          stop(ranks);
          return 1;
        }
      }
      for (var pump : pumps) {
        pump.join();
      }
      return 0;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      stop(ranks);
      return 1;
    } finally {
      try {
        Runtime.getRuntime().removeShutdownHook(stopper);
      } catch (IllegalStateException shuttingDown) {
        // the hook is running or has run
      }
    }
  }

  /** Above the default --ckpt.stop-deadline (25 s), so a save on signal can finish. */
  static final long SIGNAL_GRACE_SECONDS = 60;

  private static String signal(int status) {
    return status > 128 ? " (killed by signal " + (status - 128) + ")" : "";
  }

  private static void stop(List<Process> ranks) {
    stop(ranks, STOP_GRACE_SECONDS);
  }

  private static void stop(List<Process> ranks, long graceSeconds) {
    ranks.forEach(Process::destroy);
    for (var p : ranks) {
      try {
        if (!p.waitFor(graceSeconds, TimeUnit.SECONDS)) {
          p.destroyForcibly();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        p.destroyForcibly();
      }
    }
  }

  /** How rank {@code rank} of {@code nproc} is started (tests start ranks this way too). */
  static ProcessBuilder rankProcess(
      int rank, int nproc, int port, String command, List<String> args) {
    var builder = new ProcessBuilder(childCommand(rank, command, args));
    var env = builder.environment();
    env.put("RANK", Integer.toString(rank));
    env.put("LOCAL_RANK", Integer.toString(rank));
    env.put("WORLD_SIZE", Integer.toString(nproc));
    env.put("MASTER_ADDR", "127.0.0.1");
    env.put("MASTER_PORT", Integer.toString(port));
    env.putIfAbsent("OMP_WAIT_POLICY", "PASSIVE");
    env.putIfAbsent("OPENBLAS_NUM_THREADS", "1");
    return builder;
  }

  private static List<String> childCommand(int rank, String command, List<String> args) {
    var java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    var cmd = new ArrayList<String>();
    cmd.add(java);
    for (var arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (arg.startsWith("-X") || arg.startsWith("-D")) {
        cmd.add(arg);
      }
    }
    cmd.add("-Dstepwise.rank=" + rank); // tells the ranks apart in ps
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add("dev.stepwise.runtime.cli.Main");
    cmd.add(command);
    cmd.addAll(args);
    return cmd;
  }

  private static Thread rankOutput(InputStream stream, int rank, boolean error) {
    return ChildOutput.pump(
        stream, "[rank " + rank + "] ", error, Map.of("rank", rank), "rank-" + rank + "-output");
  }

  static int freePort() {
    try (var socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot find a free port for the rendezvous", e);
    }
  }
}
