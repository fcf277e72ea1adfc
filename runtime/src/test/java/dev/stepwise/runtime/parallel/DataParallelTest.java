package dev.stepwise.runtime.parallel;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.runtime.cli.Main;
import dev.stepwise.runtime.cli.MainRun;
import dev.stepwise.runtime.config.CommandLine;
import dev.stepwise.runtime.config.SftConfig;
import dev.stepwise.runtime.log.LogCapture;
import dev.stepwise.runtime.trainer.SftTrainer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real data-parallel runs: ranks are child JVMs on Gloo over loopback, started by the {@code
 * --nproc} launcher or one by one as the operator's StatefulSet would.
 */
class DataParallelTest {

  private static final List<String> TINY =
      List.of(
          "--model.d-model",
          "32",
          "--model.n-layers",
          "1",
          "--model.n-heads",
          "2",
          "--model.d-ff",
          "64",
          "--model.max-seq-len",
          "16",
          "--data.max-len",
          "5",
          "--data.batch-size",
          "8",
          "--eval.samples",
          "0",
          "--threads",
          "1",
          "--scheduler.warmup-steps",
          "2",
          "--log.interval",
          "1");
  private static final Pattern STEP_LINE =
      Pattern.compile("^(?:\\[rank 0\\] )?step (\\d+)/\\d+ \\| loss ([0-9.]+)", Pattern.MULTILINE);

  /** 1 vs 2 ranks differ only in float summation order. */
  private static final double LOSS_TOLERANCE = 1e-3;

  @TempDir Path tmp;

  private static List<String> args(Path dir, String... flags) {
    var args = new ArrayList<String>();
    args.add("sft");
    args.addAll(TINY);
    args.addAll(List.of("--output-dir", dir.toString(), "--dist.timeout-seconds", "30"));
    args.addAll(List.of(flags));
    return args;
  }

  private static MainRun singleRank(List<String> args) {
    var config = CommandLine.parse(SftConfig.class, args.subList(1, args.size())).config();
    try (var log = LogCapture.start()) {
      new SftTrainer(config).run();
      return new MainRun(0, log.out(), "");
    }
  }

  private static byte[] trainerFile(Path run, long step, String name) throws IOException {
    return Files.readAllBytes(run.resolve("checkpoints/step_" + step + "/trainer/" + name));
  }

  @Test
  void twoRanksFollowOneRankResumeExactlyAndReshardToOne() throws IOException {
    var one = singleRank(args(tmp.resolve("one"), "--max-steps", "12"));
    var straight =
        MainRun.of(
            args(tmp.resolve("a"), "--max-steps", "12", "--ckpt.interval", "6", "--nproc", "2"));
    assertEquals(0, straight.status(), straight.err());
    assertTrue(straight.out().contains("[rank 1] "), "rank output is prefixed");

    // 1 rank with global batch 8 vs 2 ranks of 4: the same curve within the tolerance.
    var l1 = one.losses(STEP_LINE);
    var l2 = straight.losses(STEP_LINE);
    assertEquals(12, l1.size());
    assertEquals(l1.keySet(), l2.keySet());
    l1.forEach(
        (step, loss) -> assertEquals(loss, l2.get(step), LOSS_TOLERANCE, "loss at step " + step));

    // 6 + 6 at 2 ranks ends bit-identical to 12 in one go.
    var first = MainRun.of(args(tmp.resolve("b"), "--max-steps", "6", "--ckpt", "--nproc", "2"));
    assertEquals(0, first.status(), first.err());
    var second =
        MainRun.of(
            args(
                tmp.resolve("b"),
                "--max-steps",
                "12",
                "--ckpt",
                "--ckpt.resume-step",
                "6",
                "--nproc",
                "2"));
    assertEquals(0, second.status(), second.err());
    var manifest = Files.readString(tmp.resolve("b/checkpoints/step_12/manifest.json"));
    assertTrue(manifest.contains("\"world_size\" : 2"), manifest);
    for (var name :
        List.of(
            "model-rank0-of-2.safetensors",
            "model-rank1-of-2.safetensors",
            "optimizer-rank0-of-2.safetensors",
            "optimizer-rank1-of-2.safetensors",
            "model.safetensors.index.json",
            "progress.json",
            "rank1-of-2.json")) {
      assertArrayEquals(
          trainerFile(tmp.resolve("a"), 12, name), trainerFile(tmp.resolve("b"), 12, name), name);
    }

    // Saved at 2 ranks, resumed at 1: the loss continues the 2-rank curve.
    var c = tmp.resolve("c");
    Files.createDirectories(c.resolve("checkpoints"));
    copyTree(tmp.resolve("b/checkpoints/step_6"), c.resolve("checkpoints/step_6"));
    var resumed = singleRank(args(c, "--max-steps", "12", "--ckpt", "--ckpt.resume-step", "6"));
    assertTrue(
        resumed.out().contains("resharded: the checkpoint was written by 2 rank(s)"),
        resumed.out());
    var seam = resumed.losses(STEP_LINE);
    assertEquals(List.of(7L, 8L, 9L, 10L, 11L, 12L), List.copyOf(seam.keySet()));
    seam.forEach(
        (step, loss) -> assertEquals(l2.get(step), loss, LOSS_TOLERANCE, "loss at step " + step));
    assertTrue(
        Files.readString(c.resolve("checkpoints/step_12/manifest.json"))
            .contains("\"world_size\" : 1"));
  }

  @Test
  void aKilledRankMakesItsPeerExitNamingIt() throws Exception {
    var ranks = startTwoRanks(tmp.resolve("killed"));
    awaitStep(ranks.get(0), tmp.resolve("killed/rank0.out"));
    ranks.get(1).destroyForcibly();
    var started = System.nanoTime();
    var err = awaitExit(ranks.get(0), tmp.resolve("killed/rank0.err"), started);
    assertTrue(err.contains("error: rank 1 lost (all-reduce of gradients at step"), err);
  }

  @Test
  void aHungRankMakesItsPeerExitAfterTheTimeout() throws Exception {
    var ranks = startTwoRanks(tmp.resolve("hung"));
    try {
      awaitStep(ranks.get(0), tmp.resolve("hung/rank0.out"));
      signal(ranks.get(1), "STOP");
      var started = System.nanoTime();
      var err = awaitExit(ranks.get(0), tmp.resolve("hung/rank0.err"), started);
      assertTrue(err.contains("error: rank 1 lost"), err);
      assertTrue(err.contains("Timed out"), err);
      var seconds = (System.nanoTime() - started) / 1e9;
      assertTrue(seconds >= TIMEOUT_SECONDS - 0.5, "waited the timeout, not " + seconds + " s");
    } finally {
      ranks.get(1).destroyForcibly();
    }
  }

  @Test
  void theLauncherStopsAllRanksWhenOneDiesAndNamesIt() throws Exception {
    var out = new ByteArrayOutputStream();
    var err = new ByteArrayOutputStream();
    var status = new int[] {-1};
    var launcher =
        new Thread(
            () ->
                status[0] =
                    Main.run(
                        args(tmp.resolve("l"), "--max-steps", "100000", "--nproc", "2"),
                        new PrintStream(out, true, StandardCharsets.UTF_8),
                        new PrintStream(err, true, StandardCharsets.UTF_8)));
    launcher.start();
    await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(50))
        .untilAsserted(
            () ->
                assertTrue(
                    out.toString(StandardCharsets.UTF_8).contains("[rank 0] step "),
                    "no step yet: " + out + err));
    var pids =
        Pattern.compile("pids \\[(\\d+), (\\d+)\\]").matcher(out.toString(StandardCharsets.UTF_8));
    assertTrue(pids.find(), out.toString(StandardCharsets.UTF_8));
    var rank0 = ProcessHandle.of(Long.parseLong(pids.group(1))).orElseThrow();
    var rank1 = ProcessHandle.of(Long.parseLong(pids.group(2))).orElseThrow();
    rank1.destroyForcibly();
    launcher.join(Duration.ofSeconds(30).toMillis());
    assertEquals(1, status[0], err.toString(StandardCharsets.UTF_8));
    assertTrue(
        err.toString(StandardCharsets.UTF_8).contains("error: rank 1 exited with status 137"),
        err.toString());
    assertTrue(
        rank0.onExit().get(10, TimeUnit.SECONDS) != null && !rank0.isAlive(), "rank 0 stopped");
  }

  private static final int TIMEOUT_SECONDS = 3;

  private List<Process> startTwoRanks(Path dir) throws IOException {
    Files.createDirectories(dir);
    var port = Launcher.freePort();
    var ranks = new ArrayList<Process>();
    for (var rank = 0; rank < 2; rank++) {
      var args = args(dir, "--max-steps", "100000", "--dist.timeout-seconds", "" + TIMEOUT_SECONDS);
      var builder = Launcher.rankProcess(rank, 2, port, args.get(0), args.subList(1, args.size()));
      builder.redirectOutput(dir.resolve("rank" + rank + ".out").toFile());
      builder.redirectError(dir.resolve("rank" + rank + ".err").toFile());
      ranks.add(builder.start());
    }
    return ranks;
  }

  /** Waits (at most 60 s) until rank 0 has trained a few steps. */
  private static void awaitStep(Process rank0, Path out) throws Exception {
    await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(50))
        .failFast("rank 0 died early", () -> !rank0.isAlive())
        .until(() -> Files.exists(out) && Files.readString(out).contains("step 3/"));
  }

  /** Rank 0 must exit non-zero within the collective timeout (plus start-up slack). */
  private static String awaitExit(Process rank0, Path err, long since) throws Exception {
    assertTrue(rank0.waitFor(TIMEOUT_SECONDS + 10, TimeUnit.SECONDS), "rank 0 did not exit");
    var seconds = (System.nanoTime() - since) / 1e9;
    assertEquals(1, rank0.exitValue());
    assertTrue(seconds < TIMEOUT_SECONDS + 5, "rank 0 took " + seconds + " s to exit");
    return Files.readString(err);
  }

  private static void signal(Process p, String signal) throws Exception {
    var kill = new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).start();
    assertEquals(0, kill.waitFor());
  }

  private static void copyTree(Path from, Path to) throws IOException {
    try (var walk = Files.walk(from)) {
      for (var p : walk.toList()) {
        Files.copy(p, to.resolve(from.relativize(p).toString()));
      }
    }
  }
}
