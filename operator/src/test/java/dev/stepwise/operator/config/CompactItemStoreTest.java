package dev.stepwise.operator.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.ManagedFieldsEntryBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CompactItemStoreTest {

  private static final KubernetesSerialization JSON = new KubernetesSerialization();

  private static ConfigMap configMap(String resourceVersion, String toml) {
    return new ConfigMapBuilder()
        .withNewMetadata()
        .withName("run-config")
        .withNamespace("ns")
        .withResourceVersion(resourceVersion)
        .addToLabels("app.kubernetes.io/managed-by", "stepwise-operator")
        .withManagedFields(
            new ManagedFieldsEntryBuilder()
                .withManager("stepwise-operator")
                .withOperation("Update")
                .build())
        .endMetadata()
        .withData(Map.of("trainer.toml", toml))
        .build();
  }

  @Test
  void anObjectIsKeptWithoutItsManagedFieldsAndWithEverythingElse() {
    var store = new CompactItemStore<ConfigMap>();
    var map = configMap("42", "max-steps = 600");

    store.put(store.getKey(map), map);

    var kept = store.get("ns/run-config");
    assertTrue(kept.getMetadata().getManagedFields().isEmpty());
    map.getMetadata().setManagedFields(null);
    assertEquals(JSON.asJson(map), JSON.asJson(kept));
    assertEquals("42", kept.getMetadata().getResourceVersion());
    assertEquals(
        "stepwise-operator", kept.getMetadata().getLabels().get("app.kubernetes.io/managed-by"));
    assertEquals("max-steps = 600", kept.getData().get("trainer.toml"));
  }

  @Test
  void everyReadIsAFreshCopySoAReaderCannotChangeTheCache() {
    var store = new CompactItemStore<ConfigMap>();
    store.put("ns/run-config", configMap("1", "a = 1"));

    var first = store.get("ns/run-config");
    first.getData().put("trainer.toml", "changed");

    var second = store.get("ns/run-config");
    assertNotSame(first, second);
    assertEquals("a = 1", second.getData().get("trainer.toml"));
  }

  @Test
  void putAndRemoveReturnThePreviousObjectAsTheInformerNeedsForItsEvents() {
    var store = new CompactItemStore<ConfigMap>();
    assertNull(store.put("ns/run-config", configMap("1", "a = 1")));

    var previous = store.put("ns/run-config", configMap("2", "a = 2"));
    assertEquals("1", previous.getMetadata().getResourceVersion());
    assertEquals(1, store.size());
    assertEquals(List.of("ns/run-config"), store.keySet().toList());
    assertEquals("2", store.values().findFirst().orElseThrow().getMetadata().getResourceVersion());

    var removed = store.remove("ns/run-config");
    assertEquals("a = 2", removed.getData().get("trainer.toml"));
    assertEquals(0, store.size());
    assertNull(store.get("ns/run-config"));
    assertNull(store.remove("ns/run-config"));
  }

  @Test
  void quantitiesAndPortsReadBackAsTheyWere() {
    var store = new CompactItemStore<Deployment>();
    var deployment =
        new DeploymentBuilder()
            .withNewMetadata()
            .withName("run-inference")
            .withNamespace("ns")
            .endMetadata()
            .withNewSpec()
            .withReplicas(2)
            .withNewTemplate()
            .withNewSpec()
            .addNewContainer()
            .withName("inference")
            .withNewResources()
            .addToRequests("cpu", new io.fabric8.kubernetes.api.model.Quantity("500m"))
            .endResources()
            .withNewReadinessProbe()
            .withNewHttpGet()
            .withPath("/health")
            .withNewPort("http")
            .endHttpGet()
            .endReadinessProbe()
            .endContainer()
            .endSpec()
            .endTemplate()
            .endSpec()
            .build();

    store.put(store.getKey(deployment), deployment);

    assertEquals(JSON.asJson(deployment), JSON.asJson(store.get("ns/run-inference")));
  }
}
