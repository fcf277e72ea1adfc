package dev.stepwise.runtime.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.runtime.checkpoint.ModelWeights;
import dev.stepwise.runtime.checkpoint.RunLayout;
import dev.stepwise.runtime.checkpoint.Safetensors;
import dev.stepwise.runtime.cli.Main;
import dev.stepwise.runtime.config.CommandLine;
import dev.stepwise.runtime.config.SftConfig;
import dev.stepwise.runtime.log.LogCapture;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SFT on a Hugging Face model directory ({@code --model.hf}): bit-exact resume, and export of its
 * checkpoints back to HF directories that re-import to the same logits.
 */
class HfTrainingTest {

  static final Path QWEN3 = HfParityTest.FIXTURES.resolve("qwen3");
  static final Path LLAMA = HfParityTest.FIXTURES.resolve("llama");

  /** Where the export round trip leaves its files for {@code hf_fixtures.py check-export}. */
  static final Path EXPORTS = Path.of("target/hf-export");

  @TempDir Path tmp;

  static SftConfig config(Path model, Path runDir, String... flags) {
    var args =
        new ArrayList<>(
            List.of(
                "--model.hf", model.toString(),
                "--max-steps", "4",
                "--data.batch-size", "4",
                "--data.max-len", "6",
                "--eval.samples", "8",
                "--scheduler.warmup-steps", "2",
                "--output-dir", runDir.toString()));
    args.addAll(List.of(flags));
    return CommandLine.parse(SftConfig.class, args).config();
  }

  static void train(Path model, Path runDir, String... flags) {
    try (var log = LogCapture.start()) {
      new dev.stepwise.runtime.trainer.SftTrainer(config(model, runDir, flags)).run();
    }
  }

  @Test
  void resumedRunIsBitIdenticalToOneGo() throws Exception {
    train(QWEN3, tmp.resolve("once"), "--ckpt");
    train(QWEN3, tmp.resolve("split"), "--max-steps", "2", "--ckpt");
    train(QWEN3, tmp.resolve("split"), "--ckpt", "--ckpt.resume-step", "2");
    for (var name : List.of("model-rank0-of-1.safetensors", "optimizer-rank0-of-1.safetensors")) {
      var once = new RunLayout(tmp.resolve("once")).componentDir(4, "trainer").resolve(name);
      var split = new RunLayout(tmp.resolve("split")).componentDir(4, "trainer").resolve(name);
      assertArrayEquals(Files.readAllBytes(once), Files.readAllBytes(split), name);
    }
    var trained = ModelWeights.readCheckpointModel(new RunLayout(tmp.resolve("once")).stepDir(4));
    var initial = HfWeights.read(QWEN3);
    assertNotEquals(
        0.0,
        trained.get(HfDecoder.EMBED).sub(initial.get(HfDecoder.EMBED)).abs().max().item_double(),
        "training moved the weights");
  }

  @Test
  void exportReimportsToTheSameLogits() throws Exception {
    for (var model : List.of(QWEN3, LLAMA)) {
      var kind = model.getFileName().toString();
      var run = tmp.resolve(kind);
      train(model, run, "--max-steps", "2", "--ckpt");
      var stepDir = new RunLayout(run).stepDir(2);
      var out = EXPORTS.resolve(kind);
      var status =
          main("checkpoint", "export", "--format", "hf", stepDir.toString(), out.toString());
      assertEquals(0, status);
      assertTrue(Files.isRegularFile(out.resolve("config.json")));
      assertTrue(Files.isRegularFile(out.resolve("tokenizer.json")), "tokenizer carried along");
      var tied = HfConfig.read(out).tieWordEmbeddings();
      assertEquals(!tied, HfWeights.read(out).containsKey(HfDecoder.LM_HEAD));

      var cpu = new Device("cpu");
      var fromCheckpoint = new HfDecoder(HfConfig.read(model), cpu, 0);
      HfWeights.copyInto(fromCheckpoint, ModelWeights.readCheckpointModel(stepDir), "checkpoint");
      var reimported = HfWeights.load(out, cpu, 0, false);
      var ids = HfParityTest.expected(kind).get("input_ids");
      try (var noGrad = new NoGradGuard()) {
        var want = fromCheckpoint.logits(ids);
        var got = reimported.logits(ids);
        assertTrue(got.equal(want), kind + ": re-imported logits equal the checkpoint's");
        var original = HfWeights.load(model, cpu, 0, false).logits(ids);
        assertTrue(original.sub(want).abs().max().item_double() > 0, "trained != initial");
        writeLogits(EXPORTS.resolve(kind + ".logits.safetensors"), ids, got);
      }

      // The same export in shards of at most 64 KiB reads back to the same tensors.
      var sharded = tmp.resolve(kind + "-sharded");
      assertEquals(
          0,
          main(
              "checkpoint",
              "export",
              "--format",
              "hf",
              stepDir.toString(),
              sharded.toString(),
              "--max-shard-bytes",
              "65536"));
      assertTrue(Files.isRegularFile(sharded.resolve(HfWeights.INDEX)));
      var a = HfWeights.read(out);
      var b = HfWeights.read(sharded);
      assertEquals(a.keySet(), b.keySet());
      for (var name : a.keySet()) {
        assertTrue(a.get(name).equal(b.get(name)), name);
      }
    }
  }

  @Test
  void theRandomInitQwen3ExampleLearns() {
    var example = Path.of("../examples/reverse-text/sft-qwen3.toml").toString();
    var config =
        CommandLine.parse(
                SftConfig.class,
                List.of(
                    "@", example,
                    "--model.hf", "../examples/reverse-text/qwen3-tiny",
                    "--max-steps", "200",
                    "--eval.samples", "0",
                    "--eval.interval", "0",
                    "--output-dir", tmp.resolve("example").toString()))
            .config();
    dev.stepwise.runtime.trainer.SftTrainer.Result result;
    try (var log = LogCapture.start()) {
      result = new dev.stepwise.runtime.trainer.SftTrainer(config).run();
    }
    System.out.printf(
        "qwen3 example: loss %.3f at step 1, %.3f at step 200%n",
        result.firstLoss(), result.lastLoss());
    assertTrue(
        result.lastLoss() < 0.6 * result.firstLoss(),
        "loss " + result.firstLoss() + " -> " + result.lastLoss());
  }

  @Test
  void exportOfTheByteLevelModelSaysWhy() throws Exception {
    var run = tmp.resolve("toy");
    var config =
        CommandLine.parse(
                SftConfig.class,
                List.of(
                    "--max-steps",
                    "1",
                    "--eval.samples",
                    "0",
                    "--output-dir",
                    run.toString(),
                    "--ckpt"))
            .config();
    try (var log = LogCapture.start()) {
      new dev.stepwise.runtime.trainer.SftTrainer(config).run();
    }
    var err = new ByteArrayOutputStream();
    var status =
        Main.run(
            List.of(
                "checkpoint",
                "export",
                "--format",
                "hf",
                new RunLayout(run).stepDir(1).toString(),
                tmp.resolve("out").toString()),
            new PrintStream(new ByteArrayOutputStream()),
            new PrintStream(err, true));
    assertEquals(1, status);
    assertTrue(err.toString().contains("config.toml: model.hf is not set"), err.toString());
  }

  private static int main(String... args) {
    var err = new ByteArrayOutputStream();
    var status =
        Main.run(List.of(args), new PrintStream(new ByteArrayOutputStream()), new PrintStream(err));
    assertEquals("", err.toString());
    return status;
  }

  private static void writeLogits(Path file, Tensor ids, Tensor logits) throws Exception {
    Files.createDirectories(file.getParent());
    var tensors = new TreeMap<String, Tensor>();
    tensors.put("input_ids", ids.contiguous());
    tensors.put("logits", logits.contiguous());
    try (var ch =
        FileChannel.open(
            file,
            StandardOpenOption.CREATE,
            StandardOpenOption.WRITE,
            StandardOpenOption.TRUNCATE_EXISTING)) {
      Safetensors.write(ch, tensors, Map.of());
    }
  }
}
