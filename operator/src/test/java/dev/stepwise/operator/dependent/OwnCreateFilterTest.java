package dev.stepwise.operator.dependent;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import org.junit.jupiter.api.Test;

class OwnCreateFilterTest {

  private final OwnCreateFilter filter = new OwnCreateFilter();

  private static ConfigMap config(String name, String resourceVersion) {
    return new ConfigMapBuilder()
        .withNewMetadata()
        .withName(name)
        .withNamespace("own-create")
        .withResourceVersion(resourceVersion)
        .endMetadata()
        .build();
  }

  @Test
  void theAddedEventOfTheOperatorsOwnCreateIsDroppedOnce() {
    OwnCreateFilter.created(config("run-config", "17"), true);

    assertFalse(filter.accept(config("run-config", "17")), "the event of the create");
    assertTrue(filter.accept(config("run-config", "17")), "the same event again (a relist)");
  }

  @Test
  void aCreateWhoseEventTheInformerHasNotReceivedIsLeftToTheSdk() {
    OwnCreateFilter.created(config("early-config", "30"), false);

    assertTrue(filter.accept(config("early-config", "30")), "not recorded");
  }

  @Test
  void anotherVersionKindOrNameIsSomeoneElsesChange() {
    OwnCreateFilter.created(config("other-config", "21"), true);

    assertTrue(filter.accept(config("other-config", "22")), "a later version");
    assertTrue(filter.accept(config("unknown-config", "21")), "another name");
    var account =
        new ServiceAccountBuilder()
            .withNewMetadata()
            .withName("other-config")
            .withNamespace("own-create")
            .withResourceVersion("21")
            .endMetadata()
            .build();
    assertTrue(filter.accept(account), "another kind");
    assertFalse(filter.accept(config("other-config", "21")), "the create's own event");
  }

  @Test
  void theRecordsAreBounded() {
    OwnCreateFilter.created(config("oldest", "1"), true);
    for (int i = 0; i < OwnCreateFilter.MAX_RECORDS; i++) {
      OwnCreateFilter.created(config("bulk-" + i, "1"), true);
    }

    assertTrue(filter.accept(config("oldest", "1")), "forgotten: costs one reconcile");
    assertFalse(filter.accept(config("bulk-" + (OwnCreateFilter.MAX_RECORDS - 1), "1")));
  }
}
