package dev.stepwise.runtime.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CommandLineTest {

  @TempDir Path dir;

  private Path toml(String name, String text) throws IOException {
    var file = dir.resolve(name);
    Files.writeString(file, text);
    return file;
  }

  private static SftConfig parse(Object... args) {
    var list = new ArrayList<String>();
    for (var a : args) {
      list.add(a.toString());
    }
    return CommandLine.parse(SftConfig.class, list).config();
  }

  private static List<String> problems(Object... args) {
    var list = new ArrayList<String>();
    for (var a : args) {
      list.add(a.toString());
    }
    var e = assertThrows(ConfigException.class, () -> CommandLine.parse(SftConfig.class, list));
    return e.problems();
  }

  @Test
  void defaultsWithoutArguments() {
    var config = parse();
    assertEquals(SftConfig.defaults(), config);
    assertNull(config.ckpt(), "checkpointing is off by default");
  }

  @Test
  void filesDeepMergeLeftToRightAndFlagsOverride() throws IOException {
    var base = toml("base.toml", "max-steps = 10\n[optim]\nlr = 1e-3\nweight-decay = 0.5\n");
    var over = toml("over.toml", "[optim]\nlr = 2e-3\n[model]\nd-model = 32\n");
    var config = parse("@", base, "@", over, "--max-steps", "20", "--optim.lr", "3e-4");
    assertEquals(20, config.maxSteps());
    assertEquals(3e-4, config.optim().lr());
    assertEquals(0.5, config.optim().weightDecay(), "kept from the first file");
    assertEquals(32, config.model().dModel(), "added by the second file");
    assertEquals(ModelConfig.defaults().nLayers(), config.model().nLayers());
  }

  @Test
  void flagsWinEvenWhenGivenBeforeTheFile() throws IOException {
    var file = toml("a.toml", "max-steps = 10\n");
    assertEquals(7, parse("--max-steps", "7", "@", file).maxSteps());
    assertEquals(10, parse("@" + file).maxSteps(), "@file without a space also works");
  }

  @Test
  void bareCkptEnablesItsDefaults() {
    var config = parse("--ckpt");
    assertEquals(CkptConfig.defaults(), config.ckpt());
  }

  @Test
  void ckptFlagsAndBooleans() {
    var config =
        parse(
            "--ckpt.interval",
            "5",
            "--ckpt.save-async",
            "--ckpt.keep",
            "2",
            "--ckpt.resume-step",
            "latest");
    assertEquals(5, config.ckpt().interval());
    assertTrue(config.ckpt().saveAsync());
    assertEquals(2, config.ckpt().keep());
    assertTrue(config.ckpt().resumeStep().latest());
    assertEquals(20, parse("--ckpt.resume-step=20").ckpt().resumeStep().step());
    assertFalse(parse("--ckpt.save-async", "--no-ckpt.save-async").ckpt().saveAsync());
    assertFalse(parse("--ckpt.save-async", "--ckpt.no-save-async").ckpt().saveAsync());
    assertTrue(parse("--ckpt.save-async=true").ckpt().saveAsync());
  }

  @Test
  void tomlSectionEnablesCkptAndInlineTablesWork() throws IOException {
    var file = toml("c.toml", "ckpt = { interval = 3, keep = 1 }\n");
    var config = parse("@", file);
    assertEquals(3, config.ckpt().interval());
    assertEquals(1, config.ckpt().keep());
    assertEquals("checkpoints", config.ckpt().dir());
  }

  @Test
  void unknownKeyNamesFileLineAndSuggestion() throws IOException {
    var file = toml("sft.toml", "max-steps = 20\n\n[optim]\nlr = 1e-3\n\nlrr = 3e-4\n");
    var p = problems("@", file);
    assertEquals(List.of(file + ":6: unknown key 'optim.lrr' (did you mean 'optim.lr'?)"), p);
  }

  @Test
  void keyInTheWrongSectionSuggestsTheRightOne() throws IOException {
    var file = toml("w.toml", "lr = 1e-3\n");
    assertEquals(
        List.of(file + ":1: unknown key 'lr' (did you mean 'optim.lr'?)"), problems("@", file));
  }

  @Test
  void dottedKeysGetTheirLine() throws IOException {
    var file = toml("d.toml", "max-steps = 3\noptim.betta1 = 0.8\n");
    assertEquals(
        List.of(file + ":2: unknown key 'optim.betta1' (did you mean 'optim.beta1'?)"),
        problems("@", file));
  }

  @Test
  void wrongTypesAndRangesAreAllReported() throws IOException {
    var file =
        toml(
            "t.toml", "max-steps = \"20\"\n[optim]\nlr = -1.0\n[ckpt]\nkeep = 0\nsave-async = 1\n");
    var p = problems("@", file);
    assertEquals(4, p.size(), p.toString());
    assertTrue(
        p.contains(file + ":1: 'max-steps' must be an integer, got the string \"20\""),
        p.toString());
    assertTrue(p.contains(file + ":3: 'optim.lr' must be > 0, got -1"), p.toString());
    assertTrue(p.contains(file + ":5: 'ckpt.keep' must be >= 1, got 0"), p.toString());
    assertTrue(p.contains(file + ":6: 'ckpt.save-async' must be a boolean, got 1"), p.toString());
  }

  @Test
  void flagErrors() {
    assertEquals(
        List.of("--max-step: unknown option (did you mean '--max-steps'?)"),
        problems("--max-step", "3"));
    assertEquals(List.of("--max-steps: expects a value (INT)"), problems("--max-steps"));
    assertEquals(
        List.of("--max-steps: 'max-steps' must be an integer, got 'ten'"),
        problems("--max-steps", "ten"));
    assertEquals(
        List.of("--max-steps: 'max-steps' must be >= 1, got 0"), problems("--max-steps", "0"));
    assertEquals(
        List.of(
            "--ckpt.resume-step: 'ckpt.resume-step' must be a step number >= 0 or \"latest\", got 'newest'"),
        problems("--ckpt.resume-step", "newest"));
    assertEquals(
        List.of("--device: 'device' must be one of cpu, cuda, got the string \"tpu\""),
        problems("--device", "tpu"));
    assertEquals(
        List.of(
            "--ckpt.save-async: 'ckpt.save-async' is a boolean: use --ckpt.save-async or --no-ckpt.save-async"),
        problems("--ckpt.save-async=yes"));
    assertEquals(1, problems("stray").size());
    assertEquals(List.of("@: expected a TOML file after '@'"), problems("@"));
  }

  @Test
  void crossFieldRulesNameTheSection() throws IOException {
    var file = toml("x.toml", "[model]\nd-model = 30\nn-heads = 4\n");
    assertEquals(
        List.of(file + ":1: [model] n-heads (4) must divide d-model (30)"), problems("@", file));
    assertEquals(
        List.of("--scheduler.type: [scheduler] decay-steps must be >= 1 for a cosine schedule"),
        problems("--scheduler.type", "cosine"));
  }

  @Test
  void missingFileAndBadTomlAreClear() throws IOException {
    assertEquals(
        List.of(dir.resolve("no.toml") + ": no such config file"),
        problems("@", dir.resolve("no.toml")));
    var bad = toml("bad.toml", "max-steps = 3\n[optim\n");
    var p = problems("@", bad);
    assertTrue(p.get(0).startsWith(bad + ":2: invalid TOML"), p.toString());
  }

  @Test
  void dryRunOutputParsesBackToTheSameConfig() throws IOException {
    var config =
        parse("--ckpt.interval", "5", "--ckpt.resume-step", "latest", "--optim.lr", "3e-4");
    var printed = toml("printed.toml", TomlWriter.write(config));
    assertEquals(config, parse("@", printed));
  }

  @Test
  void helpListsEveryKey() {
    var help = CommandLine.help(SftConfig.class);
    for (var path : ConfigSchema.of(SftConfig.class).allPaths()) {
      assertTrue(help.contains("--" + path), path);
    }
    assertTrue(CommandLine.parse(SftConfig.class, Arrays.asList("--help")).help());
  }
}
