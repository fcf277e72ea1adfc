package dev.stepwise.operator.dependent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaimBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.api.model.apps.DeploymentConditionBuilder;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.apps.StatefulSetBuilder;
import java.util.Optional;
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

    // The first revision, written as the StatefulSet is created, outdates no pod.
    var first =
        new StatefulSetBuilder(set).editStatus().withUpdateRevision("r1").endStatus().build();
    first.getMetadata().setResourceVersion("3");
    assertFalse(filter.accept(first, set));
    // A resume changes the trainer's template: the new revision restarts the outdated pods.
    var revised =
        new StatefulSetBuilder(first).editStatus().withUpdateRevision("r2").endStatus().build();
    revised.getMetadata().setResourceVersion("4");
    assertTrue(filter.accept(revised, first));
    // A first revision that comes with a change of ready replicas still counts.
    var firstAndReady =
        new StatefulSetBuilder(set)
            .editStatus()
            .withReadyReplicas(0)
            .withUpdateRevision("r1")
            .endStatus()
            .build();
    assertTrue(filter.accept(firstAndReady, set));
  }

  private static StatefulSet trainer(long generation, long observed, String revision) {
    return new StatefulSetBuilder()
        .withNewMetadata()
        .withName("run-trainer")
        .withGeneration(generation)
        .withResourceVersion(generation + "." + observed + revision)
        .endMetadata()
        .withNewStatus()
        .withObservedGeneration(observed)
        .withUpdateRevision(revision)
        .endStatus()
        .build();
  }

  @Test
  void theTrainersRevisionCountsOnceItsControllerHasSeenTheNewTemplate() {
    var running = trainer(2, 2, "r1");
    // The operator changed the template (a resume): until the controller has seen it, the status
    // still names the old revision, and a pod made from the new template is not outdated.
    var updated = trainer(3, 2, "r1");
    assertEquals(Optional.of("r1"), TrainerPods.settledRevision(Optional.of(running)));
    assertEquals(Optional.empty(), TrainerPods.settledRevision(Optional.of(updated)));
    var settled = trainer(3, 3, "r2");
    assertEquals(Optional.of("r2"), TrainerPods.settledRevision(Optional.of(settled)));
    assertTrue(filter.accept(settled, updated));
  }

  @Test
  void theBinderBindingAClaimReconcilesNothingButAnEditOfItsSpecDoes() {
    var claim =
        new PersistentVolumeClaimBuilder()
            .withNewMetadata()
            .withName("run-data")
            .withResourceVersion("1")
            .addToLabels("stepwise.dev/training-run", "run")
            .endMetadata()
            .withNewSpec()
            .withAccessModes("ReadWriteOnce")
            .endSpec()
            .withNewStatus()
            .withPhase("Pending")
            .endStatus()
            .build();
    var bound =
        new PersistentVolumeClaimBuilder(claim)
            .editMetadata()
            .withResourceVersion("2")
            .addToAnnotations("pv.kubernetes.io/bind-completed", "yes")
            .addToAnnotations("pv.kubernetes.io/bound-by-controller", "yes")
            .addToAnnotations("volume.kubernetes.io/storage-provisioner", "stepwise.dev/local")
            .endMetadata()
            .editSpec()
            .withVolumeName("pvc-123")
            .endSpec()
            .editStatus()
            .withPhase("Bound")
            .endStatus()
            .build();
    assertFalse(filter.accept(bound, claim));

    var relabelled =
        new PersistentVolumeClaimBuilder(bound)
            .editMetadata()
            .withResourceVersion("3")
            .addToAnnotations("team", "a")
            .endMetadata()
            .build();
    assertTrue(filter.accept(relabelled, bound));
    var edited =
        new PersistentVolumeClaimBuilder(bound)
            .editSpec()
            .withAccessModes("ReadWriteMany")
            .endSpec()
            .build();
    assertTrue(filter.accept(edited, bound));
  }

  @Test
  void theRevisionTheDeploymentControllerWritesReconcilesNothingButAnotherAnnotationDoes() {
    var created = deployment("1", 1, null);
    var revised = deployment("2", 1, null);
    revised.getMetadata().getAnnotations().put("deployment.kubernetes.io/revision", "1");
    assertFalse(filter.accept(revised, created));

    var annotated = deployment("3", 1, null);
    annotated.getMetadata().getAnnotations().put("deployment.kubernetes.io/revision", "1");
    annotated.getMetadata().getAnnotations().put("team", "a");
    assertTrue(filter.accept(annotated, revised));
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
