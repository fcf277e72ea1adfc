package dev.stepwise.runtime.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.api.CheckpointMetric;
import dev.stepwise.api.MetricOrder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code --ckpt.keep-every}, {@code --ckpt.keep-best.*}, {@code --ckpt.max-bytes} and TOML. */
class RetentionFlagsTest {

  @TempDir Path dir;

  private static CkptConfig ckpt(String... args) {
    return CommandLine.parse(SftConfig.class, List.of(args)).config().ckpt();
  }

  private static String problems(String... args) {
    var e =
        assertThrows(
            ConfigException.class, () -> CommandLine.parse(SftConfig.class, List.of(args)));
    return String.join("\n", e.problems());
  }

  @Test
  void flagsGiveTheSameRulesAsTheSpec() {
    var ckpt =
        ckpt(
            "--ckpt.keep", "3",
            "--ckpt.keep-every", "100",
            "--ckpt.keep-best.metric", "evalAccuracy",
            "--ckpt.keep-best.count", "2",
            "--ckpt.max-bytes", "50Gi");
    var rules = ckpt.retentionRules();
    assertEquals(3, rules.keep());
    assertEquals(100, rules.keepEvery());
    assertEquals(CheckpointMetric.evalAccuracy, rules.keepBest().getMetric());
    assertNull(rules.keepBest().getOrder(), "unset: the metric's own order");
    assertEquals(MetricOrder.max, rules.keepBest().effectiveOrder());
    assertEquals(2, rules.keepBest().getCount());
    assertEquals(50L << 30, rules.maxBytes());
    assertEquals(1_500_000L, ckpt("--ckpt.max-bytes", "1500000").maxBytes().bytes());
    assertEquals(1_500_000_000L, ckpt("--ckpt.max-bytes", "1.5G").maxBytes().bytes());
    assertTrue(ckpt("--ckpt").retentionRules().keepsAll(), "nothing is deleted by default");
  }

  @Test
  void tomlTakesTheSameKeys() throws IOException {
    var file =
        Files.writeString(
            dir.resolve("ckpt.toml"),
            """
            [ckpt]
            keep = 2
            keep-every = 50
            max-bytes = "10Gi"

            [ckpt.keep-best]
            metric = "meanReward"
            order = "max"
            count = 1
            """);
    var rules = ckpt("@", file.toString()).retentionRules();
    assertEquals(2, rules.keep());
    assertEquals(50, rules.keepEvery());
    assertEquals(CheckpointMetric.meanReward, rules.keepBest().getMetric());
    assertEquals(MetricOrder.max, rules.keepBest().getOrder());
    assertEquals(1, rules.keepBest().getCount());
    assertEquals(10L << 30, rules.maxBytes());
    var bytes = ckpt("@", file.toString(), "--ckpt.max-bytes", "1024").maxBytes();
    assertEquals(1024, bytes.bytes(), "a flag overrides the file");
  }

  @Test
  void extrasWithoutKeepAndIncompleteKeepBestAreRefusedNamingTheFlag() {
    assertTrue(
        problems("--ckpt.keep-every", "10").contains("--ckpt.keep-every needs --ckpt.keep"),
        problems("--ckpt.keep-every", "10"));
    assertTrue(
        problems("--ckpt.keep-best.metric", "loss", "--ckpt.keep-best.count", "1")
            .contains("--ckpt.keep-best needs --ckpt.keep"));
    assertTrue(
        problems("--ckpt.keep", "2", "--ckpt.keep-best.metric", "loss")
            .contains("--ckpt.keep-best needs --ckpt.keep-best.count"));
    assertTrue(
        problems("--ckpt.keep", "2", "--ckpt.keep-best.count", "1")
            .contains("--ckpt.keep-best needs --ckpt.keep-best.metric"));
    var metric = problems("--ckpt.keep", "2", "--ckpt.keep-best.metric", "accuracy");
    assertTrue(metric.contains("--ckpt.keep-best.metric"), metric);
    assertTrue(metric.contains("'ckpt.keep-best.metric' must be one of"), metric);
    var quota = problems("--ckpt.max-bytes", "lots");
    assertTrue(quota.contains("--ckpt.max-bytes"), quota);
    assertTrue(quota.contains("quantity like 50Gi"), quota);
    assertTrue(problems("--ckpt.max-bytes", "-1").contains("must be >= 0"));
    assertTrue(problems("--ckpt.keep", "1", "--ckpt.keep-every", "0").contains(">= 1"));
  }

  @Test
  void helpAndDryRunShowTheNewKeys() {
    var help = CommandLine.help(SftConfig.class);
    for (var key :
        List.of(
            "--ckpt.keep-every",
            "--ckpt.keep-best.metric",
            "--ckpt.keep-best.order",
            "--ckpt.keep-best.count",
            "--ckpt.max-bytes")) {
      assertTrue(help.contains(key), key + " in\n" + help);
    }
    var config =
        CommandLine.parse(
                SftConfig.class,
                List.of(
                    "--ckpt.keep",
                    "2",
                    "--ckpt.keep-best.metric",
                    "loss",
                    "--ckpt.keep-best.count",
                    "3",
                    "--ckpt.max-bytes",
                    "2Gi"))
            .config();
    var toml = TomlWriter.write(config);
    assertTrue(toml.contains("[ckpt.keep-best]"), toml);
    assertTrue(toml.contains("max-bytes = \"2Gi\""), toml);
    var file = dir.resolve("dry-run.toml");
    try {
      Files.writeString(file, toml);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    assertEquals(
        config, CommandLine.parse(SftConfig.class, List.of("@", file.toString())).config());
  }
}
