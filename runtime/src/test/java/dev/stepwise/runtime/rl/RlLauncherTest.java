package dev.stepwise.runtime.rl;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The launcher's process supervision, with shell commands standing in for the roles. */
class RlLauncherTest {

  private static RlLauncher.Role role(String name, String script) {
    return new RlLauncher.Role(name, List.of("sh", "-c", script), Map.of());
  }

  @Test
  void aRoleKilledMidRunStopsTheOthersAndFailsNamingIt() throws Exception {
    var out = new ByteArrayOutputStream();
    var err = new ByteArrayOutputStream();
    var processes = new ConcurrentHashMap<String, Process>();
    var launcher =
        new RlLauncher(
                new PrintStream(out, true), new PrintStream(err, true), Duration.ofSeconds(5))
            .onStart((role, process) -> processes.put(role.name(), process));
    var run =
        CompletableFuture.supplyAsync(
            () ->
                launcher.run(
                    null,
                    null,
                    List.of(
                        role("trainer", "echo training; exec sleep 60"),
                        role("orchestrator", "echo orchestrating; exec sleep 60"))));
    await().atMost(Duration.ofSeconds(10)).until(() -> processes.size() == 2);
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> out.toString().contains("[orchestrator] orchestrating"));

    processes.get("orchestrator").destroyForcibly();

    assertEquals(1, run.get(30, TimeUnit.SECONDS));
    assertTrue(
        err.toString().contains("error: role 'orchestrator' exited with status 137"),
        err.toString());
    assertFalse(processes.get("trainer").isAlive(), "the trainer was stopped");
    assertTrue(out.toString().contains("[trainer] training"), out.toString());
  }

  @Test
  void finishesWhenEveryWorkerSucceededAndReportsAFailingOne() {
    var out = new PrintStream(new ByteArrayOutputStream());
    var err = new ByteArrayOutputStream();
    var launcher = new RlLauncher(out, new PrintStream(err, true), Duration.ofSeconds(5));
    assertEquals(
        0,
        launcher.run(null, null, List.of(role("trainer", "true"), role("orchestrator", "true"))));
    assertEquals(
        1,
        launcher.run(
            null, null, List.of(role("trainer", "exit 3"), role("orchestrator", "exec sleep 60"))));
    assertTrue(
        err.toString().contains("error: role 'trainer' exited with status 3"), err.toString());
  }

  @Test
  void anInferenceServerThatNeverBecomesHealthyFailsTheRun() {
    var err = new ByteArrayOutputStream();
    var launcher =
        new RlLauncher(
            new PrintStream(new ByteArrayOutputStream()),
            new PrintStream(err, true),
            Duration.ofSeconds(5));
    var status =
        launcher.run(
            role("inference", "exit 1"),
            "http://127.0.0.1:1/health",
            List.of(role("trainer", "exec sleep 60")));
    assertEquals(1, status);
    assertTrue(err.toString().contains("role 'inference' exited with status 1"), err.toString());
  }

  @Test
  void aServerItDidNotStartIsAwaitedBoundedAndNamedWhenItNeverAnswers() throws Exception {
    var out = new ByteArrayOutputStream();
    var err = new ByteArrayOutputStream();
    var processes = new ConcurrentHashMap<String, Process>();
    int port;
    try (var socket = new java.net.ServerSocket(0)) {
      port = socket.getLocalPort(); // free once closed: nothing answers there
    }
    var url = "http://127.0.0.1:" + port + "/health";
    var launcher =
        new RlLauncher(
                new PrintStream(out, true), new PrintStream(err, true), Duration.ofSeconds(2))
            .onStart((role, process) -> processes.put(role.name(), process));

    var started = System.nanoTime();
    var status =
        CompletableFuture.supplyAsync(
                () -> launcher.run(null, url, List.of(role("trainer", "exec sleep 60"))))
            .get(30, TimeUnit.SECONDS);

    assertEquals(1, status);
    assertTrue((System.nanoTime() - started) / 1e9 < 20, "bounded by the health timeout");
    var message = err.toString();
    assertTrue(
        message.contains("error: no inference server answered " + url + " within 2 s"), message);
    assertTrue(message.contains("stepwise inference @ infer.toml"), message);
    assertTrue(message.contains("--client.base-url URL"), message);
    assertTrue(message.contains("client.base-url in its TOML"), message);
    assertTrue(
        out.toString().contains("rl: waiting up to 2 s for the inference server"), out.toString());
    assertTrue(processes.isEmpty(), "no role starts without a server");
  }
}
