package dev.stepwise.runtime.rl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stepwise.runtime.checkpoint.CheckpointStore;
import dev.stepwise.runtime.checkpoint.RunLayout;
import dev.stepwise.runtime.cli.MainRun;
import dev.stepwise.runtime.config.CommandLine;
import dev.stepwise.runtime.config.InferenceConfig;
import dev.stepwise.runtime.inference.InferenceServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
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
 * The seed's RL sequence, as the README writes it, with the example configs: an SFT run for the
 * init checkpoint, {@code inference @ infer.toml} started first, then {@code rl --trainer @
 * train.toml --orchestrator @ orch.toml --max-steps N --ckpt} and its resume {@code --max-steps 2N
 * --ckpt.resume-step N}, neither given {@code --inference} nor {@code --client.base-url}. The split
 * run ends bit-identical to a straight one, and the inference server serves through both halves.
 * Overlays only shrink the run (steps, rollouts per step), give the server a free port (and the
 * orchestrator's {@code client.base-url} that port) and point {@code init.checkpoint} at the SFT
 * run; the roles run as child processes exactly as {@code stepwise rl} starts them.
 */
class SeedRlFlowTest {

  private static final Path EXAMPLES = Path.of("../examples/reverse-text");
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @TempDir Path tmp;

  @Test
  void theSeedsCommandsRunAsWrittenAndTheSplitRunIsBitIdenticalToAStraightOne() throws Exception {
    // 1. stepwise sft @ examples/reverse-text/sft.toml --ckpt --output-dir runs/sft
    var sft = tmp.resolve("sft");
    var trained =
        run(
            List.of(
                "sft",
                "@",
                EXAMPLES.resolve("sft.toml").toString(),
                "--max-steps",
                "4",
                "--eval.samples",
                "8",
                "--ckpt",
                "--output-dir",
                sft.toString()));
    assertEquals(0, trained.status(), trained.err());
    var train =
        Files.writeString(
            tmp.resolve("train-test.toml"),
            "[init]\ncheckpoint = \"" + new RunLayout(sft).stepDir(4) + "\"\n");

    var straight = tmp.resolve("straight");
    var split = tmp.resolve("split");
    // 2. stepwise inference @ examples/reverse-text/infer.toml (one server per run directory)
    try (var straightServer = inference(straight);
        var splitServer = inference(split)) {
      var straightUrl = "http://127.0.0.1:" + straightServer.start();
      var splitUrl = "http://127.0.0.1:" + splitServer.start();

      var once = rl(train, orch("straight", straightUrl), straight, "--max-steps", "4", "--ckpt");
      assertEquals(0, once.status(), once.out() + once.err());

      // 3. stepwise rl --trainer @ train.toml --orchestrator @ orch.toml --max-steps 2 --ckpt
      var first = rl(train, orch("split", splitUrl), split, "--max-steps", "2", "--ckpt");
      assertEquals(0, first.status(), first.out() + first.err());
      assertTrue(
          first.out().contains("rl: using the inference server at " + splitUrl), first.out());
      assertFalse(first.out().contains("started role 'inference'"), first.out());
      assertEquals(List.of(2L), new CheckpointStore(new RunLayout(split)).completeSteps());
      assertServing(splitUrl);

      // 4. stepwise rl ... --max-steps 4 --ckpt.resume-step 2
      var second =
          rl(train, orch("split", splitUrl), split, "--max-steps", "4", "--ckpt.resume-step", "2");
      assertEquals(0, second.status(), second.out() + second.err());
      assertServing(splitUrl);
      assertEquals(List.of(2L, 4L), new CheckpointStore(new RunLayout(split)).completeSteps());
    }
    RlTestRuns.assertSameState(straight, split, 4);
  }

  /** {@code infer.toml} on a free loopback port, serving {@code runDir}. */
  private static InferenceServer inference(Path runDir) {
    var args =
        List.of(
            "@",
            EXAMPLES.resolve("infer.toml").toString(),
            "--server.port",
            "0",
            "--server.host",
            "127.0.0.1",
            "--output-dir",
            runDir.toString());
    return new InferenceServer(CommandLine.parse(InferenceConfig.class, args).config());
  }

  /** An overlay on {@code orch.toml}: fewer rollouts per step and the server's port. */
  private Path orch(String name, String url) throws Exception {
    return Files.writeString(
        tmp.resolve("orch-" + name + ".toml"),
        "batch-size = 16\n\n[client]\nbase-url = \"" + url + "\"\n");
  }

  private static MainRun rl(Path train, Path orch, Path runDir, String... flags) throws Exception {
    var args =
        new ArrayList<>(
            List.of(
                "rl",
                "--trainer",
                "@",
                EXAMPLES.resolve("train.toml").toString(),
                "@",
                train.toString(),
                "--orchestrator",
                "@",
                EXAMPLES.resolve("orch.toml").toString(),
                "@",
                orch.toString()));
    args.addAll(List.of(flags));
    args.addAll(List.of("--output-dir", runDir.toString()));
    return run(args);
  }

  /** One command, bounded: the roles it starts are child processes. */
  private static MainRun run(List<String> args) throws Exception {
    return CompletableFuture.supplyAsync(() -> MainRun.of(args)).get(5, TimeUnit.MINUTES);
  }

  private static void assertServing(String url) throws Exception {
    var response =
        HTTP.send(
            HttpRequest.newBuilder(URI.create(url + "/health"))
                .timeout(Duration.ofSeconds(10))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(200, response.statusCode(), "the inference server is still up");
    assertTrue(JSON.readTree(response.body()).path("weights_step").isIntegralNumber());
  }
}
