package dev.stepwise.runtime.rl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.runtime.checkpoint.AtomicFiles;
import dev.stepwise.runtime.checkpoint.CheckpointParts;
import dev.stepwise.runtime.checkpoint.PolicyWeights;
import dev.stepwise.runtime.checkpoint.Rollouts;
import dev.stepwise.runtime.checkpoint.RunLayout;
import dev.stepwise.runtime.checkpoint.Safetensors;
import dev.stepwise.runtime.checkpoint.Timeline;
import dev.stepwise.runtime.cli.Main;
import dev.stepwise.runtime.cli.MainRun;
import dev.stepwise.runtime.config.CommandLine;
import dev.stepwise.runtime.config.ConfigException;
import dev.stepwise.runtime.config.RlTrainerConfig;
import dev.stepwise.runtime.log.LogCapture;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Random;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The RL trainer data parallel: ranks are child JVMs on Gloo over loopback, started by {@code
 * trainer --nproc 2}. The orchestrator is stood in for by fixed rollouts (and checkpoint parts)
 * written by the test, so 1 and 2 ranks train on exactly the same batches.
 */
class RlDataParallelTest {

  private static final int BATCH = 8;
  private static final List<String> TINY =
      Stream.concat(
              RlTestRuns.TINY_MODEL.stream(),
              Stream.of(
                  "--optim.lr",
                  "1e-2",
                  "--threads",
                  "1",
                  "--log.interval",
                  "1",
                  "--wait-timeout",
                  "30",
                  "--dist.timeout-seconds",
                  "30"))
          .toList();
  private static final Pattern STEP_LINE =
      Pattern.compile(
          "^(?:\\[rank 0\\] )?trainer step (\\d+)/\\d+ \\| loss (-?[0-9.]+)", Pattern.MULTILINE);

  /** 1 vs 2 ranks differ only in float summation order; the log prints losses to 4 decimals. */
  private static final double LOSS_TOLERANCE = 2e-4;

  /** Largest weight difference after 6 steps between 1 and 2 ranks (float summation order). */
  private static final double WEIGHT_TOLERANCE = 1e-5;

  @TempDir Path tmp;

  private static List<String> args(Path dir, String... flags) {
    var args = new ArrayList<String>();
    args.addAll(TINY);
    args.addAll(List.of("--output-dir", dir.toString()));
    args.addAll(List.of(flags));
    return args;
  }

  /** Two ranks through the launcher, as {@code rl --trainer.nproc 2} runs them. */
  private static MainRun twoRanks(List<String> args) {
    var cmd = new ArrayList<String>();
    cmd.add("trainer");
    cmd.addAll(args);
    cmd.addAll(List.of("--nproc", "2"));
    return MainRun.of(cmd);
  }

  private static MainRun oneRank(List<String> args) {
    var config = CommandLine.parse(RlTrainerConfig.class, args).config();
    try (var log = LogCapture.start()) {
      new RlTrainer(config).run();
      return new MainRun(0, log.out(), "");
    }
  }

  /**
   * A step's rollouts: prompts and completions of varied lengths (so the two ranks' shares pad to
   * different lengths), sampling log-probs near the uniform policy's, group-relative advantages.
   */
  private static Rollouts rollouts(long step) {
    var random = new Random(1000 + step);
    var samples = new ArrayList<Rollouts.Sample>();
    var group = 4;
    for (var p = 0; p < BATCH / group; p++) {
      var prompt = new long[3 + random.nextInt(4)];
      for (var i = 0; i < prompt.length; i++) {
        prompt[i] = 'a' + random.nextInt(26);
      }
      var rewards = new double[group];
      var mean = 0.0;
      for (var j = 0; j < group; j++) {
        rewards[j] = random.nextDouble();
        mean += rewards[j] / group;
      }
      for (var j = 0; j < group; j++) {
        var completion = new long[1 + random.nextInt(16 - prompt.length)];
        var logProbs = new float[completion.length];
        for (var k = 0; k < completion.length; k++) {
          completion[k] = 'a' + random.nextInt(26);
          logProbs[k] = (float) (-Math.log(260) + 0.1 * random.nextGaussian());
        }
        samples.add(
            new Rollouts.Sample(
                "p" + p, prompt, completion, logProbs, rewards[j], rewards[j] - mean));
      }
    }
    return new Rollouts(step, step - 1, 1.0, samples);
  }

  /** What the orchestrator would have written for steps {@code from..to} of {@code timeline}. */
  private static void orchestrate(Path dir, long from, long to, Timeline timeline, long... parts)
      throws IOException {
    var layout = new RunLayout(dir);
    for (var step = from; step <= to; step++) {
      rollouts(step).publish(layout, timeline);
    }
    for (var step : parts) {
      var bytes = ("{\"step\": " + step + "}").getBytes(StandardCharsets.UTF_8);
      var files = new LinkedHashMap<String, AtomicFiles.Body>();
      files.put("progress.json", out -> AtomicFiles.writeFully(out, ByteBuffer.wrap(bytes)));
      CheckpointParts.write(layout, step, RunLayout.ORCHESTRATOR, timeline, files);
    }
  }

  private static byte[] file(Path dir, String path) throws IOException {
    return Files.readAllBytes(dir.resolve(path));
  }

  private static double maxWeightDifference(Path a, long stepA, Path b, long stepB)
      throws IOException {
    var wa = weights(a, stepA);
    var wb = weights(b, stepB);
    assertEquals(wa.keySet(), wb.keySet());
    var max = 0.0;
    for (var name : wa.keySet()) {
      max = Math.max(max, wa.get(name).sub(wb.get(name)).abs().max().item_double());
    }
    return max;
  }

  private static java.util.Map<String, org.bytedeco.pytorch.Tensor> weights(Path dir, long step)
      throws IOException {
    var path = dir.resolve("weights/step_" + step + "/" + PolicyWeights.FILE);
    return Safetensors.read(path, AtomicFiles.sha256()).tensors();
  }

  @Test
  void twoRanksFollowOneRankResumeExactlyAndReshardToOne() throws IOException {
    var fresh = new Timeline(0, 0);
    var resumed = new Timeline(0, 3);

    // 6 steps at 1 rank and at 2 ranks (checkpoints at 3 and 6) on the same rollouts.
    var one = tmp.resolve("one");
    orchestrate(one, 1, 6, fresh);
    var l1 = oneRank(args(one, "--max-steps", "6")).losses(STEP_LINE);
    var straight = tmp.resolve("straight");
    orchestrate(straight, 1, 6, fresh, 3, 6);
    var a = twoRanks(args(straight, "--max-steps", "6", "--ckpt.interval", "3"));
    assertEquals(0, a.status(), a.err());
    assertTrue(a.out().contains("data parallel: 2 ranks (gloo)"), a.out());
    var l2 = a.losses(STEP_LINE);
    assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 6L), List.copyOf(l1.keySet()));
    assertEquals(l1.keySet(), l2.keySet(), "only rank 0 logs steps: " + a.out());
    l1.forEach(
        (step, loss) -> assertEquals(loss, l2.get(step), LOSS_TOLERANCE, "loss at step " + step));
    var weightGap = maxWeightDifference(one, 6, straight, 6);
    System.out.printf("1 vs 2 ranks: max |weight difference| after 6 steps %.3g%n", weightGap);
    assertTrue(weightGap < WEIGHT_TOLERANCE, "weights after 6 steps differ by " + weightGap);
    var moved = maxWeightDifference(one, 0, one, 6);
    assertTrue(moved > 100 * WEIGHT_TOLERANCE, "training moved the weights by only " + moved);
    var manifest = Files.readString(straight.resolve("checkpoints/step_6/manifest.json"));
    assertTrue(manifest.contains("\"world_size\" : 2"), manifest);
    assertTrue(manifest.contains("orchestrator/progress.json"), manifest);
    // Rank 0 deleted the rollouts the step-3 checkpoint covers, and only those.
    assertFalse(Files.exists(straight.resolve("rollouts/step_3")));
    assertTrue(Files.exists(straight.resolve("rollouts/step_4")));

    // 3 + 3 at 2 ranks ends bit-identical to 6 in one go.
    var split = tmp.resolve("split");
    orchestrate(split, 1, 3, fresh, 3);
    var b1 = twoRanks(args(split, "--max-steps", "3", "--ckpt"));
    assertEquals(0, b1.status(), b1.err());
    orchestrate(split, 4, 6, resumed, 6);
    var b2 = twoRanks(args(split, "--max-steps", "6", "--ckpt", "--ckpt.resume-step", "3"));
    assertEquals(0, b2.status(), b2.err());
    for (var name :
        List.of(
            "checkpoints/step_6/trainer/model-rank0-of-2.safetensors",
            "checkpoints/step_6/trainer/model-rank1-of-2.safetensors",
            "checkpoints/step_6/trainer/optimizer-rank0-of-2.safetensors",
            "checkpoints/step_6/trainer/optimizer-rank1-of-2.safetensors",
            "checkpoints/step_6/trainer/progress.json",
            "weights/step_6/" + PolicyWeights.FILE)) {
      assertArrayEquals(file(straight, name), file(split, name), name);
    }

    // Saved at 2 ranks, resumed at 1: the loss continues the 2-rank curve.
    var c = tmp.resolve("resharded");
    Files.createDirectories(c.resolve("checkpoints/step_3"));
    copyTree(split.resolve("checkpoints/step_3"), c.resolve("checkpoints/step_3"));
    orchestrate(c, 4, 6, resumed, 6);
    var r = oneRank(args(c, "--max-steps", "6", "--ckpt", "--ckpt.resume-step", "3"));
    assertTrue(r.out().contains("resharded: the checkpoint was written by 2 rank(s)"), r.out());
    var seam = r.losses(STEP_LINE);
    assertEquals(List.of(4L, 5L, 6L), List.copyOf(seam.keySet()));
    seam.forEach(
        (step, loss) -> assertEquals(l2.get(step), loss, LOSS_TOLERANCE, "loss at " + step));
    var reshardGap = maxWeightDifference(c, 6, straight, 6);
    System.out.printf("2 ranks then 1 vs 2 ranks: max |weight difference| %.3g%n", reshardGap);
    assertTrue(reshardGap < WEIGHT_TOLERANCE, "resumed at 1 rank, weights differ by " + reshardGap);
  }

  @Test
  void aBatchThatDoesNotSplitAcrossTheRanksIsRejectedNamingTheKey() {
    var e = assertThrows(ConfigException.class, () -> RolloutBatch.share(rollouts(1), 0, 3));
    assertTrue(e.getMessage().contains("batch-size"), e.getMessage());
    assertTrue(e.getMessage().contains("WORLD_SIZE=3"), e.getMessage());
    var shares =
        List.of(RolloutBatch.share(rollouts(1), 0, 2), RolloutBatch.share(rollouts(1), 1, 2));
    var whole = new ArrayList<>(shares.get(0));
    whole.addAll(shares.get(1));
    assertEquals(rollouts(1).samples().size(), whole.size());
    assertEquals(rollouts(1).samples().get(BATCH / 2).problem(), shares.get(1).get(0).problem());
  }

  @Test
  void rlRejectsTrainerRanksThatDoNotDivideTheOrchestratorBatch() throws IOException {
    var empty = Files.writeString(tmp.resolve("empty.toml"), "");
    var err = new ByteArrayOutputStream();
    var status =
        Main.run(
            List.of(
                "rl",
                "--trainer",
                "@",
                empty.toString(),
                "--orchestrator",
                "@",
                empty.toString(),
                "--orchestrator.batch-size",
                "8",
                "--orchestrator.rollouts-per-problem",
                "4",
                "--trainer.nproc",
                "3",
                "--client.base-url",
                "http://127.0.0.1:9"),
            new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
    var message = err.toString(StandardCharsets.UTF_8);
    assertTrue(status != 0, message);
    assertTrue(message.contains("--trainer.nproc 3: orchestrator batch-size 8"), message);
  }

  private static void copyTree(Path from, Path to) throws IOException {
    try (var walk = Files.walk(from)) {
      for (var p : walk.toList()) {
        var target = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(target);
        } else {
          Files.copy(p, target);
        }
      }
    }
  }
}
