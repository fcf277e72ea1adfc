package dev.stepwise.runtime.rl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.stepwise.runtime.TestModels;
import dev.stepwise.runtime.checkpoint.PolicyWeights;
import dev.stepwise.runtime.checkpoint.RunLayout;
import dev.stepwise.runtime.config.CommandLine;
import dev.stepwise.runtime.config.InferenceConfig;
import dev.stepwise.runtime.inference.InferenceServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** What the RL run tests share: a tiny model, an inference server, and the bit-exact comparison. */
final class RlTestRuns {

  /** A model small enough for a run of a few steps to take seconds. */
  static final List<String> TINY_MODEL = TestModels.tiny(16);

  private RlTestRuns() {}

  /**
   * Orchestrator flags of a tiny run: {@code batchSize} rollouts per step, 4 per problem, short
   * strings and completions, sampled from the inference server at {@code url}.
   */
  static List<String> tinyOrchestrator(int batchSize, String url) {
    return List.of(
        "--batch-size",
        String.valueOf(batchSize),
        "--rollouts-per-problem",
        "4",
        "--task.max-len",
        "5",
        "--sampling.max-tokens",
        "7",
        "--client.base-url",
        url);
  }

  /** An inference server of {@link #TINY_MODEL} on {@code dir}, on a free loopback port. */
  static InferenceServer inference(Path dir) {
    var args = new ArrayList<>(TINY_MODEL);
    args.addAll(
        List.of(
            "--output-dir", dir.toString(), "--server.port", "0", "--server.host", "127.0.0.1"));
    return new InferenceServer(CommandLine.parse(InferenceConfig.class, args).config());
  }

  /**
   * Asserts that two single-rank runs hold byte-identical state at {@code step}: trainer model and
   * optimizer shards, orchestrator progress and the published policy weights.
   */
  static void assertSameState(Path expected, Path actual, long step) throws IOException {
    var a = new RunLayout(expected);
    var b = new RunLayout(actual);
    for (var file :
        List.of(
            RunLayout.TRAINER + "/" + RunLayout.shardFile("model", 0, 1),
            RunLayout.TRAINER + "/" + RunLayout.shardFile("optimizer", 0, 1),
            RunLayout.ORCHESTRATOR + "/progress.json")) {
      assertArrayEquals(
          Files.readAllBytes(a.stepDir(step).resolve(file)),
          Files.readAllBytes(b.stepDir(step).resolve(file)),
          file + " of step " + step);
    }
    assertArrayEquals(
        Files.readAllBytes(a.weightsDir(step).resolve(PolicyWeights.FILE)),
        Files.readAllBytes(b.weightsDir(step).resolve(PolicyWeights.FILE)),
        PolicyWeights.FILE + " of step " + step);
  }
}
