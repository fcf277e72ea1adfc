package dev.stepwise.helm;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The chart agrees with the project: version, CRDs, documentation of every value. */
class ChartConsistencyTest {

  private static final Pattern KEY_LINE = Pattern.compile("^(\\s*)([A-Za-z][\\w.-]*):.*$");
  private static final Pattern IMAGE_REFERENCE =
      Pattern.compile("ghcr\\.io/stepwise-dev/[\\w.:-]+");
  private static final YAMLMapper YAML = new YAMLMapper();

  @Test
  void chartAndAppVersionAreTheProjectVersion() throws IOException {
    var chart = YAML.readTree(Chart.directory().resolve("Chart.yaml").toFile());
    var release = System.getProperty("stepwise.version", "").replace("-SNAPSHOT", "");

    assertThat(release).isNotBlank();
    assertThat(chart.get("appVersion").asText()).isEqualTo(release);
    assertThat(chart.get("version").asText()).isEqualTo(release);
  }

  @Test
  void crdsAreTheTwoGeneratedDefinitions() throws IOException {
    var serialization = new KubernetesSerialization();
    var names = new ArrayList<String>();
    try (Stream<Path> files = Files.list(Chart.directory().resolve("crds"))) {
      for (Path file : files.sorted().toList()) {
        var crd = serialization.unmarshal(Files.readString(file), CustomResourceDefinition.class);
        assertThat(file.getFileName().toString())
            .isEqualTo(crd.getMetadata().getName() + "-v1.yml");
        names.add(crd.getMetadata().getName());
      }
    }

    assertThat(names).containsExactly("checkpoints.stepwise.dev", "trainingruns.stepwise.dev");
  }

  @Test
  void runtimeImageDefaultIsTheSiblingOfTheOperatorImageAtTheSameVersion() throws IOException {
    var chart = YAML.readTree(Chart.directory().resolve("Chart.yaml").toFile());
    var values = YAML.readTree(Chart.directory().resolve("values.yaml").toFile());
    var crd =
        new KubernetesSerialization()
            .unmarshal(
                Files.readString(
                    Chart.directory().resolve("crds/trainingruns.stepwise.dev-v1.yml")),
                CustomResourceDefinition.class);
    var specImage =
        crd.getSpec()
            .getVersions()
            .get(0)
            .getSchema()
            .getOpenAPIV3Schema()
            .getProperties()
            .get("spec")
            .getProperties()
            .get("image");
    var operatorRepository = values.get("image").get("repository").asText();

    assertThat(operatorRepository).isEqualTo("ghcr.io/stepwise-dev/stepwise-operator");
    assertThat(specImage.getDefault().asText())
        .isEqualTo(
            operatorRepository.replace("-operator", "-runtime")
                + ":"
                + chart.get("appVersion").asText());
  }

  @Test
  void examplesRunTheRuntimeImageOfThisRelease() throws IOException {
    var chart = YAML.readTree(Chart.directory().resolve("Chart.yaml").toFile());
    var expected = "ghcr.io/stepwise-dev/stepwise-runtime:" + chart.get("appVersion").asText();
    var examples = Path.of(System.getProperty("stepwise.examples", "../examples"));
    var images = new ArrayList<String>();
    try (Stream<Path> files = Files.list(examples)) {
      for (Path file : files.filter(f -> f.toString().endsWith(".yaml")).sorted().toList()) {
        var matcher = IMAGE_REFERENCE.matcher(Files.readString(file));
        while (matcher.find()) {
          images.add(file.getFileName() + ": " + matcher.group());
        }
      }
    }

    assertThat(images)
        .isNotEmpty()
        .allSatisfy(image -> assertThat(image).endsWith(": " + expected));
  }

  @Test
  void everyValueHasACommentAbove() throws IOException {
    var lines = Files.readAllLines(Chart.directory().resolve("values.yaml"));
    var undocumented = new ArrayList<String>();
    for (int i = 0; i < lines.size(); i++) {
      var key = KEY_LINE.matcher(lines.get(i));
      if (key.matches()) {
        var above = i == 0 ? "" : lines.get(i - 1).strip();
        if (!above.startsWith("#")) {
          undocumented.add((i + 1) + ": " + key.group(2));
        }
      }
    }

    assertThat(undocumented).as("values.yaml keys without a comment on the line above").isEmpty();
  }

  @Test
  void readmeValuesTableListsEveryValue() throws IOException {
    var values = YAML.readTree(Chart.directory().resolve("values.yaml").toFile());
    var readme = Files.readString(Chart.directory().resolve("README.md"));
    var paths = new ArrayList<String>();
    collectLeafPaths("", values, paths);

    assertThat(paths).hasSizeGreaterThan(20);
    assertThat(paths)
        .as("values missing from the values table of helm/stepwise/README.md")
        .allSatisfy(path -> assertThat(readme).contains("| `" + path + "` |"));
  }

  private static void collectLeafPaths(String prefix, JsonNode node, List<String> paths) {
    if (node.isObject() && !node.isEmpty()) {
      node.fields()
          .forEachRemaining(
              e ->
                  collectLeafPaths(
                      prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey(),
                      e.getValue(),
                      paths));
    } else {
      paths.add(prefix);
    }
  }
}
