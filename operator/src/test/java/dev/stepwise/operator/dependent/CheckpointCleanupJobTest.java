package dev.stepwise.operator.dependent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.api.Checkpoint;
import dev.stepwise.api.CheckpointSpec;
import dev.stepwise.api.CheckpointStatus;
import dev.stepwise.api.RunType;
import dev.stepwise.operator.Labels;
import dev.stepwise.operator.Roles;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.util.List;
import org.junit.jupiter.api.Test;

class CheckpointCleanupJobTest {

  @Test
  void theCleanupPodPrefersTheNodeOfTheRunsTrainerPods() {
    // given
    var run = RuntimeArgsTest.run(RunType.SFT, null, null);
    var checkpoint = checkpoint(10, 3L);

    // when
    var pod = CheckpointCleanupJob.desired(run, checkpoint).getSpec().getTemplate().getSpec();

    // then
    var affinity = pod.getAffinity();
    assertNull(affinity.getPodAntiAffinity());
    assertNull(affinity.getNodeAffinity());
    assertTrue(
        affinity.getPodAffinity().getRequiredDuringSchedulingIgnoredDuringExecution().isEmpty(),
        "a required affinity would never schedule while no trainer pod runs");
    var preferred = affinity.getPodAffinity().getPreferredDuringSchedulingIgnoredDuringExecution();
    assertEquals(1, preferred.size());
    assertEquals(100, preferred.get(0).getWeight());
    var term = preferred.get(0).getPodAffinityTerm();
    assertEquals("kubernetes.io/hostname", term.getTopologyKey());
    assertEquals(
        Labels.selector(run, Roles.TRAINER.id()), term.getLabelSelector().getMatchLabels());
    var trainerPodLabels =
        new TrainerStatefulSetDependent()
            .desired(run, null)
            .getSpec()
            .getTemplate()
            .getMetadata()
            .getLabels();
    assertTrue(
        trainerPodLabels
            .entrySet()
            .containsAll(term.getLabelSelector().getMatchLabels().entrySet()),
        "the selector matches the trainer pods' labels");
  }

  @Test
  void theCleanupJobDeletesExactlyThatStepOfThatTimelineFromTheRunVolume() {
    // given
    var run = RuntimeArgsTest.run(RunType.RL, null, null);

    // when
    var job = CheckpointCleanupJob.desired(run, checkpoint(10, 3L));

    // then
    assertEquals("r-cleanup-step-10", job.getMetadata().getName());
    var container = job.getSpec().getTemplate().getSpec().getContainers().get(0);
    assertEquals(
        List.of(
            "checkpoint",
            "delete",
            "--output-dir",
            "/var/lib/stepwise/run",
            "--step",
            "10",
            "--timeline",
            "3"),
        container.getArgs());
    assertEquals(
        "r-data",
        job.getSpec().getTemplate().getSpec().getVolumes().stream()
            .filter(v -> v.getPersistentVolumeClaim() != null)
            .findFirst()
            .orElseThrow()
            .getPersistentVolumeClaim()
            .getClaimName());
  }

  private static Checkpoint checkpoint(long step, Long timeline) {
    var checkpoint = new Checkpoint();
    checkpoint.setMetadata(
        new ObjectMetaBuilder().withName("r-step-" + step).withNamespace("ns").build());
    var spec = new CheckpointSpec();
    spec.setTrainingRun("r");
    spec.setStep(step);
    checkpoint.setSpec(spec);
    var status = new CheckpointStatus();
    status.setTimeline(timeline);
    checkpoint.setStatus(status);
    return checkpoint;
  }
}
