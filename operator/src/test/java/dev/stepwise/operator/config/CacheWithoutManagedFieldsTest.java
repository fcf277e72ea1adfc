package dev.stepwise.operator.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.ManagedFieldsEntryBuilder;
import io.fabric8.kubernetes.client.informers.cache.Cache;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CacheWithoutManagedFieldsTest {

  @Test
  void anObjectIsKeptWithoutItsManagedFieldsAndWithEverythingElse() {
    var store = new CacheWithoutManagedFields<ConfigMap>();
    var map =
        new ConfigMapBuilder()
            .withNewMetadata()
            .withName("run-config")
            .withNamespace("ns")
            .withResourceVersion("42")
            .addToLabels("app.kubernetes.io/managed-by", "stepwise-operator")
            .withManagedFields(
                new ManagedFieldsEntryBuilder()
                    .withManager("stepwise-operator")
                    .withOperation("Update")
                    .build())
            .endMetadata()
            .withData(Map.of("trainer.toml", "max-steps = 600"))
            .build();

    store.put(Cache.metaNamespaceKeyFunc(map), map);

    var kept = store.get("ns/run-config");
    assertNull(kept.getMetadata().getManagedFields());
    assertEquals("42", kept.getMetadata().getResourceVersion());
    assertEquals(
        "stepwise-operator", kept.getMetadata().getLabels().get("app.kubernetes.io/managed-by"));
    assertEquals("max-steps = 600", kept.getData().get("trainer.toml"));
  }
}
