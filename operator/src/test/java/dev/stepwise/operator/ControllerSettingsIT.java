package dev.stepwise.operator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.operator.config.CompactItemStore;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.javaoperatorsdk.operator.Operator;
import io.javaoperatorsdk.operator.processing.Controller;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.kubernetes.client.WithKubernetesTestServer;
import jakarta.inject.Inject;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Controller settings the operator depends on, as QOSDK built them from the annotations. */
@QuarkusTest
@WithKubernetesTestServer(crud = true, setup = MockApiServer.class)
class ControllerSettingsIT {

  @Inject Operator operator;

  @Test
  void theTrainingRunInformerDoesNotDropASpecChangeMadeDuringAStatusPatch() {
    var config = operator.getRegisteredController("trainingrun").orElseThrow().getConfiguration();
    // JOSDK 5.3 with comparable resource versions keeps only the last event seen during an own
    // write: a spec change made while the reconcile patched the status was lost.
    assertFalse(config.getInformerConfig().isComparableResourceVersions());
    assertTrue(config.isGenerationAware(), "status-only events, its own included, are skipped");
  }

  @Test
  void theOperatorWritesThroughTheConfiguredClient() {
    // A ConfigurationServiceCustomizer that forgets the client leaves Java Operator SDK a default
    // Fabric8 client: retries after 100 ms, not after the configured 1 s (the Retry-After of a
    // 429).
    var config = operator.getConfigurationService().getKubernetesClient().getConfiguration();
    assertEquals(1000, config.getRequestRetryBackoffInterval());
    assertEquals(5, config.getRequestRetryBackoffLimit());
  }

  @Test
  void sixteenRunsAreReconciledAtOnce() {
    // With Java Operator SDK's 50, every run of a burst waited for the children of all the others
    // (application.properties says what was measured).
    assertEquals(16, operator.getConfigurationService().concurrentReconciliationThreads());
  }

  @Test
  void bothControllersCacheTheirResourcesWithoutManagedFields() {
    for (var name : new String[] {"trainingrun", "checkpoint"}) {
      var config = operator.getRegisteredController(name).orElseThrow().getConfiguration();
      assertInstanceOf(CompactItemStore.class, config.getInformerConfig().getItemStore(), name);
    }
  }

  @Test
  void eachKindOfChildHasOneInformer() {
    var controller = (Controller<?>) operator.getRegisteredController("trainingrun").orElseThrow();
    // The orchestrator and inference Deployments share one, and so do the two Services: with one
    // each, both informers held every managed object of the kind, and each reconcile read both.
    for (var kind :
        List.of(
            Deployment.class,
            Service.class,
            StatefulSet.class,
            ConfigMap.class,
            ServiceAccount.class,
            Role.class,
            RoleBinding.class)) {
      assertEquals(
          1,
          controller.getEventSourceManager().getEventSourcesFor(kind).size(),
          kind.getSimpleName());
    }
  }
}
