package dev.stepwise.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The CRDs committed for the chart must equal the ones generated from the Java model. With {@code
 * -Prefresh-crds} the test writes them instead of comparing.
 */
class CrdDriftTest {

  static final String REFRESH =
      "the committed CRDs in helm/stepwise/crds differ from the Java model; refresh them with"
          + " `mvn -B -ntp -pl crds -Prefresh-crds test` and commit the result";

  @ParameterizedTest
  @CsvSource({
    "trainingruns.stepwise.dev-v1.yml, dev.stepwise.api.TrainingRun",
    "checkpoints.stepwise.dev-v1.yml, dev.stepwise.api.Checkpoint"
  })
  void committedCrdEqualsGenerated(String file, Class<?> kind) throws IOException {
    var generated = Path.of(System.getProperty("stepwise.crds.generated")).resolve(file);
    var committed = Path.of(System.getProperty("stepwise.crds.committed")).resolve(file);
    assertTrue(Files.exists(generated), "not generated: " + generated);
    var published = PublishedCrd.of(Files.readString(generated), kind);
    if (Boolean.getBoolean("stepwise.crds.refresh")) {
      Files.writeString(committed, published);
    }
    assertTrue(Files.exists(committed), committed + " is missing: " + REFRESH);
    assertEquals(published, Files.readString(committed), REFRESH);
  }
}
