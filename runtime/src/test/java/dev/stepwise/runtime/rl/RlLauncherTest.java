package dev.stepwise.runtime.rl;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.runtime.log.LogCapture;
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
    try (var log = LogCapture.start()) {
      aRoleKilledMidRunStopsTheOthersAndFailsNamingIt(log);
    }
  }

  private void aRoleKilledMidRunStopsTheOthersAndFailsNamingIt(LogCapture log) throws Exception {
    var processes = new ConcurrentHashMap<String, Process>();
    var launcher =
        new RlLauncher(Duration.ofSeconds(5))
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
        .until(() -> log.out().contains("[orchestrator] orchestrating"));

    processes.get("orchestrator").destroyForcibly();

    assertEquals(1, run.get(30, TimeUnit.SECONDS));
    assertTrue(log.err().contains("error: role 'orchestrator' exited with status 137"), log.err());
    assertFalse(processes.get("trainer").isAlive(), "the trainer was stopped");
    assertTrue(log.out().contains("[trainer] training"), log.out());
  }

  @Test
  void finishesWhenEveryWorkerSucceededAndReportsAFailingOne() {
    try (var log = LogCapture.start()) {
      finishesWhenEveryWorkerSucceededAndReportsAFailingOne(log);
    }
  }

  private void finishesWhenEveryWorkerSucceededAndReportsAFailingOne(LogCapture log) {
    var launcher = new RlLauncher(Duration.ofSeconds(5));
    assertEquals(
        0,
        launcher.run(null, null, List.of(role("trainer", "true"), role("orchestrator", "true"))));
    assertEquals(
        1,
        launcher.run(
            null, null, List.of(role("trainer", "exit 3"), role("orchestrator", "exec sleep 60"))));
    assertTrue(log.err().contains("error: role 'trainer' exited with status 3"), log.err());
  }

  @Test
  void anInferenceServerThatNeverBecomesHealthyFailsTheRun() {
    try (var log = LogCapture.start()) {
      var launcher = new RlLauncher(Duration.ofSeconds(5));
      var status =
          launcher.run(
              role("inference", "exit 1"),
              "http://127.0.0.1:1/health",
              List.of(role("trainer", "exec sleep 60")));
      assertEquals(1, status);
      assertTrue(log.err().contains("role 'inference' exited with status 1"), log.err());
    }
  }

  @Test
  void aServerItDidNotStartIsAwaitedBoundedAndNamedWhenItNeverAnswers() throws Exception {
    try (var log = LogCapture.start()) {
      aServerItDidNotStartIsAwaitedBoundedAndNamedWhenItNeverAnswers(log);
    }
  }

  private void aServerItDidNotStartIsAwaitedBoundedAndNamedWhenItNeverAnswers(LogCapture log)
      throws Exception {
    var processes = new ConcurrentHashMap<String, Process>();
    int port;
    try (var socket = new java.net.ServerSocket(0)) {
      port = socket.getLocalPort(); // free once closed: nothing answers there
    }
    var url = "http://127.0.0.1:" + port + "/health";
    var launcher =
        new RlLauncher(Duration.ofSeconds(2))
            .onStart((role, process) -> processes.put(role.name(), process));

    var started = System.nanoTime();
    var status =
        CompletableFuture.supplyAsync(
                () -> launcher.run(null, url, List.of(role("trainer", "exec sleep 60"))))
            .get(30, TimeUnit.SECONDS);

    assertEquals(1, status);
    assertTrue((System.nanoTime() - started) / 1e9 < 20, "bounded by the health timeout");
    var message = log.err();
    assertTrue(
        message.contains("error: no inference server answered " + url + " within 2 s"), message);
    assertTrue(message.contains("stepwise inference @ infer.toml"), message);
    assertTrue(message.contains("--client.base-url URL"), message);
    assertTrue(message.contains("client.base-url in its TOML"), message);
    assertTrue(log.out().contains("rl: waiting up to 2 s for the inference server"), log.out());
    assertTrue(processes.isEmpty(), "no role starts without a server");
  }
}
