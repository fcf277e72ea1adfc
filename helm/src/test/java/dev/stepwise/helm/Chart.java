package dev.stepwise.helm;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.TemplateCommand;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/** The chart under test, rendered by real Helm (helm-java) and parsed into Fabric8 objects. */
final class Chart {

  static final String RELEASE = "stepwise";
  static final String NAMESPACE = "stepwise-system";

  /** helm-java renders for Kubernetes 1.20 unless told otherwise; the chart needs 1.28 or newer. */
  static final String KUBE_VERSION = "1.32.0";

  private static final Pattern DOCUMENT_SEPARATOR = Pattern.compile("(?m)^---\\s*$");
  private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

  private Chart() {}

  static Path directory() {
    return Path.of(System.getProperty("stepwise.chart", "stepwise")).toAbsolutePath();
  }

  static Helm helm() {
    return new Helm(directory());
  }

  /** Renders the chart with its defaults plus {@code values} (Helm --set syntax). */
  static Rendered render(Map<String, Object> values) {
    TemplateCommand template =
        helm().template().withName(RELEASE).withNamespace(NAMESPACE).withKubeVersion(KUBE_VERSION);
    values.forEach(template::set);
    return Rendered.parse(template.call());
  }

  /** Renders the chart with its defaults overridden by a values file of src/test/resources. */
  static Rendered render(String valuesResource) {
    var url = Chart.class.getResource("/values/" + valuesResource);
    if (url == null) {
      throw new IllegalArgumentException("no test values file " + valuesResource);
    }
    try {
      return Rendered.parse(
          helm()
              .template()
              .withName(RELEASE)
              .withNamespace(NAMESPACE)
              .withKubeVersion(KUBE_VERSION)
              .withValuesFile(Path.of(url.toURI()))
              .call());
    } catch (java.net.URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  static Rendered render() {
    return render(Map.of());
  }

  /** Shorthand for an ordered map of --set values. */
  static Map<String, Object> values(Object... keysAndValues) {
    var values = new LinkedHashMap<String, Object>();
    for (int i = 0; i < keysAndValues.length; i += 2) {
      values.put((String) keysAndValues[i], keysAndValues[i + 1]);
    }
    return values;
  }

  /** Every object of one `helm template` output. */
  record Rendered(String yaml, List<HasMetadata> objects) {

    static Rendered parse(String yaml) {
      var objects = new ArrayList<HasMetadata>();
      for (String document : DOCUMENT_SEPARATOR.split(yaml)) {
        if (document.lines().allMatch(line -> line.isBlank() || line.startsWith("#"))) {
          continue;
        }
        objects.add(SERIALIZATION.unmarshal(document, HasMetadata.class));
      }
      return new Rendered(yaml, List.copyOf(objects));
    }

    <T extends HasMetadata> List<T> all(Class<T> type) {
      return objects.stream().filter(type::isInstance).map(type::cast).toList();
    }

    <T extends HasMetadata> T one(Class<T> type, String name) {
      var matches = all(type).stream().filter(o -> name.equals(o.getMetadata().getName())).toList();
      if (matches.size() != 1) {
        throw new AssertionError(
            "expected one "
                + type.getSimpleName()
                + " named "
                + name
                + ", found "
                + matches.size()
                + " in:\n"
                + yaml);
      }
      return matches.get(0);
    }
  }
}
