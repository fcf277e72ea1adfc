package dev.stepwise.runtime.rl;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.runtime.checkpoint.PublishedDir;
import dev.stepwise.runtime.checkpoint.RunLayout;
import dev.stepwise.runtime.cli.Main;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Crash recovery as in Kubernetes: the trainer and the orchestrator are separate processes (child
 * JVMs) with {@code --ckpt.timeline 0 --ckpt.recover}, and one of them is killed mid-run and
 * restarted alone with the same arguments, as the kubelet does. The run completes without help and
 * ends bit-identical to an uninterrupted one. To kill a role while the run is surely still going,
 * its peer is paused (SIGSTOP) first, then resumed once the killed role is back.
 */
class RlRecoveryTest {

  private static final int MAX_STEPS = 10;
  private static final Duration RUN = Duration.ofSeconds(150);

  @TempDir Path tmp;

  private static List<String> args(String role, Path dir, String url) {
    var args =
        new ArrayList<>(
            List.of(
                "--output-dir",
                dir.toString(),
                "--max-steps",
                String.valueOf(MAX_STEPS),
                "--wait-timeout",
                "120",
                "--ckpt.interval",
                "3",
                "--ckpt.timeline",
                "0",
                "--ckpt.recover"));
    if (role.equals("trainer")) {
      args.addAll(RlTestRuns.TINY_MODEL);
      args.addAll(List.of("--optim.lr", "1e-2"));
    } else {
      args.addAll(RlTestRuns.tinyOrchestrator(16, url));
    }
    return args;
  }

  private Process start(String role, Path dir, String url, int attempt) throws IOException {
    var command = new ArrayList<String>();
    command.add(ProcessHandle.current().info().command().orElse("java"));
    command.addAll(List.of("-Xmx512m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"));
    command.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
    command.add(role);
    command.addAll(args(role, dir, url));
    var builder = new ProcessBuilder(command).redirectErrorStream(true);
    builder.environment().put("OMP_WAIT_POLICY", "PASSIVE");
    builder.environment().put("OPENBLAS_NUM_THREADS", "1");
    builder.redirectOutput(
        dir.resolveSibling(dir.getFileName() + "-" + role + attempt + ".log").toFile());
    return builder.start();
  }

  private static void signal(Process process, String signal) throws Exception {
    var kill = new ProcessBuilder("kill", "-" + signal, String.valueOf(process.pid())).start();
    assertEquals(0, kill.waitFor(), "kill -" + signal);
  }

  private String log(Path dir, String role, int attempt) throws IOException {
    return Files.readString(dir.resolveSibling(dir.getFileName() + "-" + role + attempt + ".log"));
  }

  private void awaitExit(Process process, Path dir, String role, int attempt) throws Exception {
    assertTrue(process.waitFor(RUN.toSeconds(), TimeUnit.SECONDS), role + " did not finish");
    assertEquals(0, process.exitValue(), () -> role + " failed:\n" + tail(dir, role, attempt));
  }

  private String tail(Path dir, String role, int attempt) {
    try {
      var lines = log(dir, role, attempt).lines().toList();
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
    } catch (IOException e) {
      return "(no log)";
    }
  }

  /**
   * Runs both roles; with {@code victim} set, kills it once checkpoint 3 is complete and the run
   * has gone past it (the orchestrator published rollouts 5, the trainer the weights of step 4).
   */
  private Path run(String name, String victim) throws Exception {
    var dir = tmp.resolve(name);
    Files.createDirectories(dir);
    try (var server = RlTestRuns.inference(dir)) {
      var url = "http://127.0.0.1:" + server.start();
      var trainer = start("trainer", dir, url, 0);
      var orchestrator = start("orchestrator", dir, url, 0);
      try {
        if (victim != null) {
          var layout = new RunLayout(dir);
          await()
              .atMost(RUN)
              .pollInterval(Duration.ofMillis(10))
              .until(
                  () ->
                      Files.exists(layout.manifest(3))
                          && Files.exists(
                              victim.equals("trainer")
                                  ? layout.weightsDir(4).resolve(RunLayout.PUBLISHED)
                                  : layout.rolloutsDir(5).resolve(RunLayout.PUBLISHED)));
          var killed = victim.equals("trainer") ? trainer : orchestrator;
          var peer = victim.equals("trainer") ? orchestrator : trainer;
          signal(peer, "STOP");
          assertTrue(killed.isAlive(), victim + " still running when it is killed");
          killed.destroyForcibly().waitFor();
          var published =
              java.util.stream.LongStream.rangeClosed(4, MAX_STEPS)
                  .filter(n -> Files.exists(layout.rolloutsDir(n).resolve(RunLayout.PUBLISHED)))
                  .boxed()
                  .toList();
          assertNotEquals(0, killed.exitValue());
          assertFalse(
              Files.exists(layout.manifest(MAX_STEPS)), "the run had not finished at the kill");
          var restarted = start(victim, dir, url, 1);
          if (victim.equals("trainer")) {
            trainer = restarted;
          } else {
            orchestrator = restarted;
          }
          signal(peer, "CONT");
          awaitExit(restarted, dir, victim, 1);
          var again = log(dir, victim, 1);
          assertTrue(
              again.matches("(?s).*resumed from \\S*step_([3-9]).*"),
              victim + " recovered from a checkpoint, not from scratch:\n" + again);
          if (victim.equals("orchestrator")) {
            // What the killed orchestrator had published beyond the checkpoint is read back.
            for (var n : published) {
              assertTrue(
                  again.contains("step " + n + "/" + MAX_STEPS + " | replayed"),
                  "rollouts " + n + " were replayed, not sampled again:\n" + again);
            }
          } else {
            // The restarted trainer found the rollouts after its checkpoint still there.
            assertTrue(published.contains(4L), "rollouts 4 were kept: " + published);
          }
          System.out.printf(
              "%s killed with rollouts %s published beyond checkpoint 3; after the restart: %s%n",
              victim,
              published,
              again.lines().filter(l -> l.contains("resumed") || l.contains("replayed")).toList());
        }
        awaitExit(trainer, dir, "trainer", victim != null && victim.equals("trainer") ? 1 : 0);
        awaitExit(
            orchestrator,
            dir,
            "orchestrator",
            victim != null && victim.equals("orchestrator") ? 1 : 0);
      } finally {
        trainer.destroyForcibly();
        orchestrator.destroyForcibly();
      }
    }
    return dir;
  }

  @Test
  void aRoleKilledMidRunRecoversAloneAndTheRunEndsBitIdentical() throws Exception {
    var reference = run("straight", null);
    // Checkpoints 3, 6, 9, 10 with async level 1: weights 2-3, 5-6, 8-10 are what a resume needs.
    var weights = PublishedDir.publishedSteps(new RunLayout(reference).weightsRoot());
    assertTrue(
        weights.containsAll(List.of(2L, 3L, 5L, 6L, 8L, 9L, 10L)) && weights.size() <= 8,
        "weights kept: " + weights);
    assertFalse(weights.contains(0L) || weights.contains(1L) || weights.contains(4L), "" + weights);

    RlTestRuns.assertSameState(reference, run("orchestrator-killed", "orchestrator"), MAX_STEPS);
    RlTestRuns.assertSameState(reference, run("trainer-killed", "trainer"), MAX_STEPS);
  }
}
