package dev.stepwise.operator.dependent;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.api.model.apps.DeploymentConditionBuilder;
import io.fabric8.kubernetes.api.model.apps.StatefulSetBuilder;
import org.junit.jupiter.api.Test;

class ChildUpdateFilterTest {

  private final ChildUpdateFilter filter = new ChildUpdateFilter();

  private static Deployment deployment(String resourceVersion, int replicas, Integer ready) {
    return new DeploymentBuilder()
        .withNewMetadata()
        .withName("run-inference")
        .withNamespace("ns")
        .withResourceVersion(resourceVersion)
        .addToLabels("stepwise.dev/training-run", "run")
        .endMetadata()
        .withNewSpec()
        .withReplicas(replicas)
        .endSpec()
        .withNewStatus()
        .withReadyReplicas(ready)
        .endStatus()
        .build();
  }

  @Test
  void aStatusWriteOfTheControllerReconcilesNothing() {
    var before = deployment("1", 1, null);
    var after = deployment("2", 1, null);
    after.getStatus().setObservedGeneration(1L);
    after
        .getStatus()
        .getConditions()
        .add(new DeploymentConditionBuilder().withType("Progressing").withStatus("True").build());

    assertFalse(filter.accept(after, before));
  }

  @Test
  void readyReplicasAndTheTrainersRevisionReconcileTheRun() {
    assertTrue(filter.accept(deployment("2", 1, 1), deployment("1", 1, null)));
    var set =
        new StatefulSetBuilder()
            .withNewMetadata()
            .withName("run-trainer")
            .withResourceVersion("1")
            .endMetadata()
            .withNewStatus()
            .withReadyReplicas(1)
            .endStatus()
            .build();
    var fewer = new StatefulSetBuilder(set).editStatus().withReadyReplicas(0).endStatus().build();
    fewer.getMetadata().setResourceVersion("2");
    assertTrue(filter.accept(fewer, set));

    // A resume changes the trainer's template: the new revision restarts the outdated pods.
    var revised =
        new StatefulSetBuilder(set).editStatus().withUpdateRevision("r2").endStatus().build();
    revised.getMetadata().setResourceVersion("3");
    assertTrue(filter.accept(revised, set));
  }

  @Test
  void anEditOutsideTheStatusReconcilesTheRun() {
    assertTrue(filter.accept(deployment("2", 2, null), deployment("1", 1, null)));

    var relabelled = deployment("2", 1, null);
    relabelled.getMetadata().getLabels().put("stepwise.dev/training-run", "other");
    assertTrue(filter.accept(relabelled, deployment("1", 1, null)));

    var config =
        new ConfigMapBuilder()
            .withNewMetadata()
            .withName("run-config")
            .withResourceVersion("1")
            .endMetadata()
            .addToData("trainer.toml", "a = 1")
            .build();
    var edited = new ConfigMapBuilder(config).addToData("trainer.toml", "a = 2").build();
    edited.getMetadata().setResourceVersion("2");
    assertTrue(filter.accept(edited, config));
  }
}
