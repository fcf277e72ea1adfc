package dev.stepwise.runtime.rl;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.runtime.checkpoint.PolicyWeights;
import dev.stepwise.runtime.checkpoint.RunLayout;
import dev.stepwise.runtime.config.CommandLine;
import dev.stepwise.runtime.config.InferenceConfig;
import dev.stepwise.runtime.config.OrchestratorConfig;
import dev.stepwise.runtime.config.RlTrainerConfig;
import dev.stepwise.runtime.inference.InferenceServer;
import dev.stepwise.runtime.log.LogCapture;
import dev.stepwise.runtime.orchestrator.InferenceClient;
import dev.stepwise.runtime.orchestrator.Orchestrator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * RL on a Hugging Face model ({@code model.hf} for trainer and inference, its tokenizer for the
 * orchestrator): ChatML prompts in the rollouts, and a run split at a checkpoint ends bit-identical
 * to the run in one go.
 */
class HfRlRunTest {

  static final String MODEL = "src/test/resources/hf/qwen3";

  @TempDir Path tmp;

  private static <T extends Record> T parse(Class<T> type, List<String> args) {
    return CommandLine.parse(type, args).config();
  }

  private static List<String> with(List<String> a, String... b) {
    var out = new ArrayList<>(a);
    out.addAll(List.of(b));
    return out;
  }

  static InferenceServer inference(Path dir) {
    return new InferenceServer(
        parse(
            InferenceConfig.class,
            List.of(
                "--model.hf",
                MODEL,
                "--output-dir",
                dir.toString(),
                "--server.port",
                "0",
                "--server.host",
                "127.0.0.1")));
  }

  private static void rl(Path dir, String url, String... shared) throws Exception {
    var common = List.of("--output-dir", dir.toString(), "--wait-timeout", "60");
    var orchestrator =
        parse(
            OrchestratorConfig.class,
            with(
                with(common, shared),
                with(RlTestRuns.tinyOrchestrator(8, url), "--tokenizer", MODEL)
                    .toArray(String[]::new)));
    var trainer =
        parse(
            RlTrainerConfig.class,
            with(with(common, "--model.hf", MODEL, "--optim.lr", "1e-2"), shared));
    var client = new InferenceClient(url, Duration.ofSeconds(30));
    try (var log = LogCapture.start()) {
      var orchestration =
          CompletableFuture.supplyAsync(() -> new Orchestrator(orchestrator, client).run());
      new RlTrainer(trainer).run();
      orchestration.get(60, TimeUnit.SECONDS);
    }
  }

  @Test
  void aSplitRunOnQwen3EndsBitIdenticalAndItsRolloutsUseTheChatTemplate() throws Exception {
    var straight = tmp.resolve("straight");
    var split = tmp.resolve("split");
    try (var a = inference(straight);
        var b = inference(split)) {
      var urlA = "http://127.0.0.1:" + a.start();
      var urlB = "http://127.0.0.1:" + b.start();
      rl(straight, urlA, "--max-steps", "4", "--ckpt", "--ckpt.interval", "2");
      rl(split, urlB, "--max-steps", "2", "--ckpt");
      rl(split, urlB, "--max-steps", "4", "--ckpt", "--ckpt.resume-step", "2");
    }
    RlTestRuns.assertSameState(straight, split, 4);
    var weights = new RunLayout(straight).weightsDir(4).resolve(PolicyWeights.FILE);
    assertTrue(Files.isRegularFile(weights));
    var header = new String(Files.readAllBytes(weights), 0, 4096);
    assertTrue(header.contains("model.layers.0.self_attn.q_norm.weight"), "HF names published");
  }
}
