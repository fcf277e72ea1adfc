package dev.stepwise.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The CRDs committed for the chart must equal the ones generated from the Java model. */
class CrdDriftTest {

  static final String REFRESH =
      "the committed CRDs in helm/stepwise/crds differ from the Java model; refresh them with"
          + " `mvn -B -ntp -pl crds -Prefresh-crds process-classes` and commit the result";

  @ParameterizedTest
  @ValueSource(strings = {"trainingruns.stepwise.dev-v1.yml", "checkpoints.stepwise.dev-v1.yml"})
  void committedCrdEqualsGenerated(String file) throws IOException {
    var generated = Path.of(System.getProperty("stepwise.crds.generated")).resolve(file);
    var committed = Path.of(System.getProperty("stepwise.crds.committed")).resolve(file);
    assertTrue(Files.exists(generated), "not generated: " + generated);
    assertTrue(Files.exists(committed), committed + " is missing: " + REFRESH);
    assertEquals(Files.readString(generated), Files.readString(committed), REFRESH);
  }
}
