package dev.stepwise.runtime.rl;

import dev.stepwise.runtime.parallel.ChildOutput;
import dev.stepwise.runtime.util.Polling;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the RL roles as child processes, like prime-rl's {@code rl}: an inference server when asked
 * to (else it waits, bounded, for the running one to answer {@code /health}), then the trainer and
 * the orchestrator. Each child's output lines are prefixed with its role. When a role exits
 * non-zero (or inference exits at all) the others are stopped and the launcher fails with a message
 * naming the role; when the trainer and the orchestrator have both finished, the inference server
 * it started is stopped.
 */
public final class RlLauncher {

  /** One child: its role name, command line and extra environment. */
  public record Role(String name, List<String> command, Map<String, String> environment) {}

  private static final Logger LOG = LoggerFactory.getLogger(RlLauncher.class);

  private final Duration healthTimeout;
  private BiConsumer<Role, Process> onStart = (role, process) -> {};

  public RlLauncher(Duration healthTimeout) {
    this.healthTimeout = healthTimeout;
  }

  /** Tests use this to see the children (and kill one). */
  public RlLauncher onStart(BiConsumer<Role, Process> onStart) {
    this.onStart = onStart;
    return this;
  }

  /**
   * Starts {@code inference} (if not null) and waits until {@code healthUrl} (if not null) answers,
   * then starts {@code workers}; returns 0 once every worker exited 0, else 1. With no {@code
   * inference} to start, {@code healthUrl} is a server someone else runs: rl never stops it.
   */
  public int run(Role inference, String healthUrl, List<Role> workers) {
    var running = java.util.Collections.synchronizedMap(new LinkedHashMap<Role, Process>());
    var hook = new Thread(() -> stopAll(running));
    Runtime.getRuntime().addShutdownHook(hook);
    try {
      if (inference != null) {
        running.put(inference, start(inference));
        var failure = awaitHealthy(inference, running.get(inference), healthUrl);
        if (failure != null) {
          LOG.error("error: " + failure);
          stopAll(running);
          return 1;
        }
      } else if (healthUrl != null) {
        var failure = awaitRunning(healthUrl);
        if (failure != null) {
          LOG.error("error: " + failure);
          return 1;
        }
      }
      for (var role : workers) {
        running.put(role, start(role));
      }
      var remaining = new ArrayList<>(workers);
      while (!remaining.isEmpty()) {
        List<Map.Entry<Role, Process>> children;
        synchronized (running) {
          children = new ArrayList<>(running.entrySet());
        }
        for (var e : children) {
          var process = e.getValue();
          if (process.isAlive()) {
            continue;
          }
          var role = e.getKey();
          var status = process.exitValue();
          running.remove(role);
          if (status != 0 || role == inference) {
            LOG.error(
                String.format(
                    "error: role '%s' exited with status %d; stopping the other roles",
                    role.name(), status));
            stopAll(running);
            return 1;
          }
          remaining.remove(role);
          LOG.info(String.format("rl: role '%s' finished", role.name()));
        }
        Polling.pause(100);
      }
      stopAll(running);
      return 0;
    } catch (IOException e) {
      LOG.error("error: cannot start a role: " + e.getMessage());
      stopAll(running);
      return 1;
    } finally {
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException shuttingDown) {
        // the hook is running or has run
      }
    }
  }

  private Process start(Role role) throws IOException {
    var builder = new ProcessBuilder(role.command()).redirectErrorStream(true);
    builder.environment().putAll(role.environment());
    var process = builder.start();
    ChildOutput.pump(
        process.getInputStream(),
        "[" + role.name() + "] ",
        false,
        Map.of("role", role.name()),
        "output-" + role.name());
    LOG.info(String.format("rl: started role '%s' (pid %d)", role.name(), process.pid()));
    onStart.accept(role, process);
    return process;
  }

  /** Waits for an inference server rl did not start; null once healthy, else why not. */
  private String awaitRunning(String healthUrl) {
    var said = false;
    var deadline = System.nanoTime() + healthTimeout.toNanos();
    while (System.nanoTime() < deadline) {
      var answer = probe(healthUrl);
      if (answer == Probe.HEALTHY) {
        return null;
      }
      if (answer == Probe.INTERRUPTED) {
        return "interrupted";
      }
      if (!said) {
        LOG.info(
            String.format(
                "rl: waiting up to %d s for the inference server at %s",
                healthTimeout.toSeconds(), healthUrl));
        said = true;
      }
      Polling.pause(200);
    }
    return "no inference server answered "
        + healthUrl
        + " within "
        + healthTimeout.toSeconds()
        + " s. Start one first ('stepwise inference @ infer.toml'), let rl start one"
        + " (--inference @ infer.toml), or point the orchestrator at yours (client.base-url in its"
        + " TOML, or --client.base-url URL)";
  }

  private enum Probe {
    HEALTHY,
    NOT_YET,
    INTERRUPTED
  }

  private static Probe probe(String healthUrl) {
    var http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    try {
      var response =
          http.send(
              HttpRequest.newBuilder(URI.create(healthUrl)).timeout(Duration.ofSeconds(2)).build(),
              HttpResponse.BodyHandlers.discarding());
      return response.statusCode() == 200 ? Probe.HEALTHY : Probe.NOT_YET;
    } catch (IOException e) {
      return Probe.NOT_YET; // not listening (yet)
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Probe.INTERRUPTED;
    }
  }

  private String awaitHealthy(Role role, Process process, String healthUrl) {
    var deadline = System.nanoTime() + healthTimeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        return "role '"
            + role.name()
            + "' exited with status "
            + process.exitValue()
            + " before it was healthy";
      }
      var answer = probe(healthUrl);
      if (answer == Probe.HEALTHY) {
        return null;
      }
      if (answer == Probe.INTERRUPTED) {
        return "interrupted";
      }
      Polling.pause(200);
    }
    return "role '"
        + role.name()
        + "' did not answer "
        + healthUrl
        + " within "
        + healthTimeout.toSeconds()
        + " s";
  }

  /**
   * How long a stopped role may take to exit after SIGTERM before it is killed: above the default
   * --ckpt.stop-deadline (25 s), so the trainer's checkpoint on signal can complete.
   */
  static final long STOP_GRACE_SECONDS = 60;

  private static void stopAll(Map<Role, Process> running) {
    List<Process> processes;
    synchronized (running) {
      processes = new ArrayList<>(running.values());
      running.clear();
    }
    for (var process : processes) {
      process.destroy();
    }
    for (var process : processes) {
      try {
        if (!process.waitFor(STOP_GRACE_SECONDS, TimeUnit.SECONDS)) {
          process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        process.destroyForcibly();
        Thread.currentThread().interrupt();
      }
    }
  }
}
