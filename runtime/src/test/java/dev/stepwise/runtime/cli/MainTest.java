package dev.stepwise.runtime.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MainTest {

  @TempDir Path tmp;

  private static MainRun run(String... args) {
    return MainRun.of(List.of(args));
  }

  @Test
  void badConfigExitsWithStatus2AndNamesTheKeyAndLine() throws Exception {
    var file = tmp.resolve("sft.toml");
    Files.writeString(file, "[optim]\nlrr = 1e-3\n");
    var result = run("sft", "@", file.toString());
    assertEquals(2, result.status());
    assertEquals(
        "error: " + file + ":2: unknown key 'optim.lrr' (did you mean 'optim.lr'?)\n",
        result.err());
  }

  @Test
  void dryRunPrintsTheResolvedConfigAndDoesNothing() {
    var result =
        run("sft", "--ckpt", "--max-steps", "20", "--output-dir", tmp.toString(), "--dry-run");
    assertEquals(0, result.status());
    assertTrue(result.out().contains("max-steps = 20\n"), result.out());
    assertTrue(result.out().contains("[ckpt]\ndir = \"checkpoints\"\n"), result.out());
    assertEquals(0, tmp.toFile().list().length, "a dry run writes nothing");
  }

  @Test
  void theShippedExamplesAreValid() {
    var sft = Path.of("../examples/reverse-text/sft.toml").toString();
    var longer = Path.of("../examples/reverse-text/sft-long.toml").toString();
    assertEquals(0, run("sft", "@", sft, "--dry-run").status());
    var both = run("sft", "@", sft, "@", longer, "--dry-run");
    assertEquals(0, both.status(), both.err());
    assertTrue(both.out().contains("d-model = 128"), both.out());
  }

  @Test
  void resumingFromNothingIsAClearError() {
    var result =
        run(
            "sft",
            "--output-dir",
            tmp.toString(),
            "--ckpt.resume-step",
            "20",
            "--eval.samples",
            "0");
    assertEquals(1, result.status());
    assertTrue(result.err().startsWith("error: no checkpoint at step 20"), result.err());
  }

  @Test
  void theSeedsSplitOfTheShippedExampleIsBitIdentical() throws Exception {
    var sft = Path.of("../examples/reverse-text/sft.toml").toString();
    var split = tmp.resolve("split").toString();
    var whole = tmp.resolve("whole").toString();
    var quiet = new String[] {"--eval.samples", "0", "--log.interval", "100"};
    assertEquals(
        0,
        run(concat("sft", "@", sft, "--max-steps", "20", "--ckpt", "--output-dir", split), quiet)
            .status());
    assertEquals(
        0,
        run(
                concat(
                    "sft",
                    "@",
                    sft,
                    "--max-steps",
                    "40",
                    "--ckpt.resume-step",
                    "20",
                    "--ckpt.save-async",
                    "--output-dir",
                    split),
                quiet)
            .status());
    assertEquals(
        0,
        run(concat("sft", "@", sft, "--max-steps", "40", "--ckpt", "--output-dir", whole), quiet)
            .status());
    for (var shard : List.of("model-rank0-of-1.safetensors", "optimizer-rank0-of-1.safetensors")) {
      var a = Files.readAllBytes(Path.of(split, "checkpoints/step_40/trainer", shard));
      var b = Files.readAllBytes(Path.of(whole, "checkpoints/step_40/trainer", shard));
      org.junit.jupiter.api.Assertions.assertArrayEquals(a, b, shard);
    }
  }

  private static String[] concat(String... head) {
    return head;
  }

  private static MainRun run(String[] head, String[] tail) {
    var all = new java.util.ArrayList<>(List.of(head));
    all.addAll(List.of(tail));
    return run(all.toArray(String[]::new));
  }

  @Test
  void unknownCommandsAndHelp() {
    assertEquals(2, run("train").status());
    assertEquals(2, run().status());
    var help = run("sft", "--help");
    assertEquals(0, help.status());
    assertTrue(help.out().contains("--ckpt.resume-step"), help.out());
  }

  @Test
  void logFormatJsonWritesOneJsonObjectALineAndNamesABadValue() throws Exception {
    var json = new com.fasterxml.jackson.databind.ObjectMapper();
    var bad = run("sft", "--log.format", "json", "--optim.lrr", "1");
    assertEquals(2, bad.status());
    var error = json.readTree(bad.err().strip());
    assertEquals("ERROR", error.path("level").asText());
    assertTrue(error.path("message").asText().contains("--optim.lrr"), bad.err());
    assertEquals("sft", error.path("role").asText());

    var unknown = run("sft", "--log.format", "xml", "--dry-run");
    assertEquals(2, unknown.status());
    assertTrue(unknown.err().contains("--log.format"), unknown.err());

    var trained =
        run(
            "sft",
            "--log.format",
            "json",
            "--max-steps",
            "2",
            "--eval.samples",
            "4",
            "--model.d-model",
            "16",
            "--model.n-layers",
            "1",
            "--output-dir",
            tmp.toString());
    assertEquals(0, trained.status(), trained.err());
    var steps = 0;
    for (var line : trained.out().strip().split("\n")) {
      var node = json.readTree(line);
      assertTrue(node.has("time") && node.has("level") && node.has("logger"), line);
      if (node.path("message").asText().startsWith("step ")) {
        assertEquals(++steps, node.path("step").asInt(), line);
      }
    }
    assertEquals(2, steps, trained.out());
  }
}
