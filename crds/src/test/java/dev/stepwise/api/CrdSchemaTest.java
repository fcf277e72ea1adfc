package dev.stepwise.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** What `kubectl explain` and `kubectl get` show, and what the API server rejects. */
class CrdSchemaTest {

  static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  static JsonNode version(String file) throws IOException {
    var dir = Path.of(System.getProperty("stepwise.crds.generated"));
    return YAML.readTree(dir.resolve(file).toFile()).at("/spec/versions/0");
  }

  /** The committed copy the chart installs: printer columns in their declared order. */
  static JsonNode published(String file) throws IOException {
    var dir = Path.of(System.getProperty("stepwise.crds.committed"));
    return YAML.readTree(dir.resolve(file).toFile()).at("/spec/versions/0");
  }

  static JsonNode trainingRun() throws IOException {
    return version("trainingruns.stepwise.dev-v1.yml");
  }

  @Test
  void everyFieldHasADescription() throws IOException {
    for (var file :
        List.of("trainingruns.stepwise.dev-v1.yml", "checkpoints.stepwise.dev-v1.yml")) {
      var missing = new ArrayList<String>();
      collectUndescribed(version(file).at("/schema/openAPIV3Schema"), "", missing);
      assertEquals(List.of(), missing, file + ": fields without description");
    }
  }

  /**
   * The described twins must keep Fabric8's shape: a field Fabric8 adds on an upgrade and the twin
   * lacks would be pruned by the API server.
   */
  @ParameterizedTest
  @CsvSource({
    "io.fabric8.kubernetes.api.model.ResourceRequirements, dev.stepwise.api.ResourceRequirementsSchema",
    "io.fabric8.kubernetes.api.model.ResourceClaim, dev.stepwise.api.ResourceRequirementsSchema$Claim",
    "io.fabric8.kubernetes.api.model.Condition, dev.stepwise.api.ConditionSchema"
  })
  void schemaTwinsHaveTheFabric8TypesFields(Class<?> fabric8, Class<?> twin) {
    assertEquals(jsonProperties(fabric8), jsonProperties(twin));
  }

  private static List<String> jsonProperties(Class<?> type) {
    return YAML
        .getSerializationConfig()
        .introspect(YAML.constructType(type))
        .findProperties()
        .stream()
        .map(p -> p.getName())
        .sorted()
        .toList();
  }

  /**
   * Walks every property below {@code node}, through array items and map values, Kubernetes types
   * (ResourceRequirements, Condition) included: each one must say what it is.
   */
  private static void collectUndescribed(JsonNode node, String path, List<String> missing) {
    if (!node.isObject()) {
      return;
    }
    node.path("properties")
        .fields()
        .forEachRemaining(
            e -> {
              var field = path.isEmpty() ? e.getKey() : path + "." + e.getKey();
              if (!e.getValue().hasNonNull("description")) {
                missing.add(field);
              }
              collectUndescribed(e.getValue(), field, missing);
            });
    collectUndescribed(node.path("items"), path + "[]", missing);
    collectUndescribed(node.path("additionalProperties"), path + "{}", missing);
  }

  @Test
  void ckptKeepExplainsItself() throws IOException {
    var keep =
        trainingRun().at("/schema/openAPIV3Schema/properties/spec/properties/ckpt/properties/keep");
    assertTrue(keep.path("description").asText().contains("most recent"));
    assertEquals(1, keep.path("minimum").asInt());
  }

  @Test
  void schemaBoundsWhatItCan() throws IOException {
    var spec = trainingRun().at("/schema/openAPIV3Schema/properties/spec");
    assertEquals(
        List.of("rl", "sft"),
        StreamSupport.stream(spec.at("/properties/type/enum").spliterator(), false)
            .map(JsonNode::asText)
            .sorted()
            .toList());
    assertEquals(
        Map.of(
            "/properties/maxSteps/minimum", 1,
            "/properties/ckpt/properties/interval/minimum", 1,
            "/properties/ckpt/properties/keep/minimum", 1,
            "/properties/resumeStep/minimum", 0,
            "/properties/trainer/properties/replicas/minimum", 1,
            "/properties/inference/properties/replicas/minimum", 1),
        Map.of(
            "/properties/maxSteps/minimum", spec.at("/properties/maxSteps/minimum").asInt(-9),
            "/properties/ckpt/properties/interval/minimum",
                spec.at("/properties/ckpt/properties/interval/minimum").asInt(-9),
            "/properties/ckpt/properties/keep/minimum",
                spec.at("/properties/ckpt/properties/keep/minimum").asInt(-9),
            "/properties/resumeStep/minimum", spec.at("/properties/resumeStep/minimum").asInt(-9),
            "/properties/trainer/properties/replicas/minimum",
                spec.at("/properties/trainer/properties/replicas/minimum").asInt(-9),
            "/properties/inference/properties/replicas/minimum",
                spec.at("/properties/inference/properties/replicas/minimum").asInt(-9)));
  }

  @Test
  void celRuleRejectsRlSectionsOnAnSftRun() throws IOException {
    var rules =
        trainingRun().at("/schema/openAPIV3Schema/properties/spec/x-kubernetes-validations");
    var sftRule =
        StreamSupport.stream(rules.spliterator(), false)
            .filter(r -> r.path("rule").asText().contains("has(self.orchestrator)"))
            .findFirst()
            .orElseThrow();
    assertEquals(
        "self.type == 'rl' || (!has(self.orchestrator) && !has(self.inference))",
        sftRule.path("rule").asText());
    assertTrue(sftRule.path("message").asText().contains("only used by rl runs"));
  }

  @Test
  void initNamesARunAndAStepAndCannotChange() throws IOException {
    var spec = trainingRun().at("/schema/openAPIV3Schema/properties/spec");
    var ref = spec.at("/properties/init/properties/checkpoint");
    assertEquals(List.of("checkpoint"), texts(spec.at("/properties/init/required")));
    assertEquals(
        List.of("step", "trainingRun"), texts(ref.at("/required")).stream().sorted().toList());
    assertEquals(0, ref.at("/properties/step/minimum").asInt(-9));
    assertEquals(
        "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", ref.at("/properties/trainingRun/pattern").asText());
    assertEquals(63, ref.at("/properties/trainingRun/maxLength").asInt(-9));
    assertTrue(
        ref.at("/properties/trainingRun/description").asText().contains("ReadWriteMany"),
        "explains the access mode a shared source volume needs");
    var rules = spec.at("/x-kubernetes-validations");
    var immutable =
        StreamSupport.stream(rules.spliterator(), false)
            .filter(r -> r.path("rule").asText().contains("oldSelf.init"))
            .findFirst()
            .orElseThrow();
    assertEquals(
        "has(self.init) == has(oldSelf.init) && (!has(self.init) || self.init == oldSelf.init)",
        immutable.path("rule").asText());
    assertTrue(immutable.path("message").asText().startsWith("init cannot be added, changed"));
    assertTrue(
        StreamSupport.stream(rules.spliterator(), false)
            .noneMatch(
                r ->
                    r.path("rule").asText().contains("self.type == 'rl'")
                        && r.path("rule").asText().contains("init")),
        "init works for sft runs too");
  }

  private static List<String> texts(JsonNode array) {
    return StreamSupport.stream(array.spliterator(), false).map(JsonNode::asText).toList();
  }

  @Test
  void statusSubresourceShortNamesAndColumns() throws IOException {
    var tr = trainingRun();
    assertTrue(tr.at("/subresources/status").isObject());
    assertEquals(
        List.of(
            "Type",
            "Phase",
            "Step",
            "Max Steps",
            "Latest Checkpoint",
            "Progress",
            "Loss",
            "Reward",
            "Tokens/s",
            "ETA",
            "Disk Used",
            "Age"),
        columnNames(published("trainingruns.stepwise.dev-v1.yml")));
    var ckpt = version("checkpoints.stepwise.dev-v1.yml");
    assertTrue(ckpt.at("/subresources/status").isObject());
    assertEquals(
        List.of("Run", "Step", "Phase", "Size", "Loss", "Eval Acc", "Reward", "Retain", "Age"),
        columnNames(published("checkpoints.stepwise.dev-v1.yml")));

    var dir = Path.of(System.getProperty("stepwise.crds.generated"));
    assertEquals(
        "tr",
        YAML.readTree(dir.resolve("trainingruns.stepwise.dev-v1.yml").toFile())
            .at("/spec/names/shortNames/0")
            .asText());
    assertEquals(
        "ckpt",
        YAML.readTree(dir.resolve("checkpoints.stepwise.dev-v1.yml").toFile())
            .at("/spec/names/shortNames/0")
            .asText());
  }

  private static List<String> columnNames(JsonNode version) {
    return StreamSupport.stream(version.path("additionalPrinterColumns").spliterator(), false)
        .map(c -> c.path("name").asText())
        .toList();
  }
}
