package dev.stepwise.runtime.rl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.runtime.checkpoint.CheckpointStore;
import dev.stepwise.runtime.checkpoint.Manifest;
import dev.stepwise.runtime.checkpoint.RunLayout;
import dev.stepwise.runtime.config.CommandLine;
import dev.stepwise.runtime.config.OrchestratorConfig;
import dev.stepwise.runtime.config.RlTrainerConfig;
import dev.stepwise.runtime.log.LogCapture;
import dev.stepwise.runtime.orchestrator.InferenceClient;
import dev.stepwise.runtime.orchestrator.Orchestrator;
import dev.stepwise.runtime.util.StopSignal;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
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
 * A stop signal reaching the RL trainer and the orchestrator (Ctrl-C on a local run, a node drain)
 * mid-run: the trainer saves the step it finished as a complete checkpoint whose orchestrator part
 * comes from that step's rollouts, both roles return, and the resume ends bit-identical to a run
 * never stopped.
 */
class RlStopOnSignalTest {

  @TempDir Path tmp;

  private static <T extends Record> T parse(Class<T> type, List<String> args) {
    return CommandLine.parse(type, args).config();
  }

  private static void rl(Path dir, String url, long stopAt, String... shared) throws Exception {
    var common = new ArrayList<>(List.of("--output-dir", dir.toString(), "--wait-timeout", "60"));
    common.addAll(List.of(shared));
    var orchestratorArgs = new ArrayList<>(common);
    orchestratorArgs.addAll(RlTestRuns.tinyOrchestrator(8, url));
    var trainerArgs = new ArrayList<>(common);
    trainerArgs.addAll(RlTestRuns.TINY_MODEL);
    trainerArgs.addAll(List.of("--optim.lr", "1e-2", "--log.interval", "1"));
    var trainerStop = StopSignal.manual(Duration.ofSeconds(60));
    var orchestratorStop = StopSignal.manual(Duration.ofSeconds(60));
    var prefix = "trainer step " + stopAt + "/";
    var out = new ByteArrayOutputStream();
    var log =
        new PrintStream(
            new OutputStream() {
              private final StringBuilder line = new StringBuilder();

              @Override
              public void write(int b) {
                out.write(b);
                if (b != '\n') {
                  line.append((char) b);
                  return;
                }
                if (stopAt > 0 && line.toString().startsWith(prefix)) {
                  trainerStop.received("SIGINT");
                  orchestratorStop.received("SIGINT");
                }
                line.setLength(0);
              }
            },
            true,
            StandardCharsets.UTF_8);
    var client = new InferenceClient(url, Duration.ofSeconds(30));
    var orchestrator =
        new Orchestrator(parse(OrchestratorConfig.class, orchestratorArgs), client)
            .stopOn(orchestratorStop);
    // The trainer's lines go to the watching stream; the other roles' are dropped.
    try (var trainerLog =
        LogCapture.into(log, name -> name.startsWith(RlTrainer.class.getPackageName()))) {
      var orchestration = CompletableFuture.supplyAsync(orchestrator::run);
      var trainer = new RlTrainer(parse(RlTrainerConfig.class, trainerArgs));
      trainer.stopOn(trainerStop).run();
      orchestration.get(60, TimeUnit.SECONDS);
    }
    if (stopAt > 0) {
      var text = out.toString(StandardCharsets.UTF_8);
      assertTrue(text.contains("stopped by SIGINT after step " + stopAt), text);
    }
  }

  @Test
  void aStoppedRlRunSavesBothPartsAndResumesBitIdentical() throws Exception {
    var straight = tmp.resolve("straight");
    var stopped = tmp.resolve("stopped");
    try (var a = RlTestRuns.inference(straight);
        var b = RlTestRuns.inference(stopped)) {
      var urlA = "http://127.0.0.1:" + a.start();
      var urlB = "http://127.0.0.1:" + b.start();
      rl(straight, urlA, 0, "--max-steps", "6", "--ckpt", "--ckpt.interval", "4");
      rl(stopped, urlB, 2, "--max-steps", "6", "--ckpt", "--ckpt.interval", "4");
      var store = new CheckpointStore(new RunLayout(stopped));
      assertEquals(List.of(2L), store.completeSteps());
      var manifest = store.manifest(2);
      assertEquals(Manifest.REASON_PREEMPTION, manifest.reason());
      assertEquals(
          List.of(RunLayout.ORCHESTRATOR, RunLayout.TRAINER),
          List.copyOf(new java.util.TreeSet<>(manifest.components().keySet())),
          "the orchestrator's part too");
      rl(
          stopped,
          urlB,
          0,
          "--max-steps",
          "6",
          "--ckpt",
          "--ckpt.interval",
          "4",
          "--ckpt.resume-step",
          "2");
    }
    assertEquals(List.of(2L, 4L, 6L), new CheckpointStore(new RunLayout(stopped)).completeSteps());
    RlTestRuns.assertSameState(straight, stopped, 6);
    var part = RunLayout.ORCHESTRATOR + "/progress.json";
    assertArrayEquals(
        Files.readAllBytes(new RunLayout(straight).stepDir(4).resolve(part)),
        Files.readAllBytes(new RunLayout(stopped).stepDir(4).resolve(part)),
        "the orchestrator resumed from the part the trainer wrote");
  }
}
