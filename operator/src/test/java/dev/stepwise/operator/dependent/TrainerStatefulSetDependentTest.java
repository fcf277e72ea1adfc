package dev.stepwise.operator.dependent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.api.InitCheckpointSpec;
import dev.stepwise.api.InitSpec;
import dev.stepwise.api.TrainingRun;
import dev.stepwise.operator.Fixtures;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import java.util.Collections;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class TrainerStatefulSetDependentTest {

  @Test
  void initMountsTheSourceClaimReadOnlyAndPointsTheTrainerAtItsStep() {
    // given: examples/rl-run.yaml, which starts from Checkpoint reverse-text-step-600
    var run = example("rl-run.yaml");

    // when
    var sts = TrainerStatefulSetDependent.statefulSet(run, Optional.of("reverse-text-data"));

    // then
    var volume = volume(sts, "init");
    assertEquals("reverse-text-data", volume.getPersistentVolumeClaim().getClaimName());
    var mount = mount(trainer(sts), "init");
    assertEquals("/var/lib/stepwise/init", mount.getMountPath());
    assertEquals(Boolean.TRUE, mount.getReadOnly(), "the source run's data is never written");
    assertEquals(
        "reverse-text-rl-data", volume(sts, "run").getPersistentVolumeClaim().getClaimName());
    assertEquals(null, mount(trainer(sts), "run").getReadOnly(), "its own run dir stays writable");
    var args = trainer(sts).getArgs();
    assertEquals("trainer", args.get(0));
    var flag = args.indexOf("--init.checkpoint");
    assertTrue(flag > 0, () -> "args: " + args);
    assertEquals("/var/lib/stepwise/init/checkpoints/step_600", args.get(flag + 1));
    assertEquals(1, Collections.frequency(args, "--init.checkpoint"));
  }

  @Test
  void anSftRunWithInitGetsTheSameMountAndFlag() {
    // given: examples/sft-run.yaml, started from another run's Checkpoint at step 600
    var run = example("sft-run.yaml");
    var ref = new InitCheckpointSpec();
    ref.setTrainingRun("reverse-text-base");
    ref.setStep(600L);
    var init = new InitSpec();
    init.setCheckpoint(ref);
    run.getSpec().setInit(init);

    // when
    var sts = TrainerStatefulSetDependent.statefulSet(run, Optional.of("reverse-text-base-data"));

    // then
    assertEquals(
        "reverse-text-base-data", volume(sts, "init").getPersistentVolumeClaim().getClaimName());
    assertEquals(Boolean.TRUE, mount(trainer(sts), "init").getReadOnly());
    var args = trainer(sts).getArgs();
    assertEquals("sft", args.get(0));
    var flag = args.indexOf("--init.checkpoint");
    assertTrue(flag > 0, () -> "args: " + args);
    assertEquals("/var/lib/stepwise/init/checkpoints/step_600", args.get(flag + 1));
    assertEquals(1, Collections.frequency(args, "--init.checkpoint"));
  }

  @Test
  void withoutInitNothingOfItIsRendered() {
    // given: the same run without spec.init
    var run = example("rl-run.yaml");
    run.getSpec().setInit(null);

    // when
    var sts = TrainerStatefulSetDependent.statefulSet(run, Optional.empty());

    // then
    var pod = sts.getSpec().getTemplate().getSpec();
    assertFalse(pod.getVolumes().stream().anyMatch(v -> v.getName().equals("init")));
    assertFalse(trainer(sts).getVolumeMounts().stream().anyMatch(m -> m.getName().equals("init")));
    assertFalse(trainer(sts).getArgs().contains("--init.checkpoint"));
  }

  private static Container trainer(StatefulSet sts) {
    var containers = sts.getSpec().getTemplate().getSpec().getContainers();
    assertEquals(1, containers.size());
    return containers.get(0);
  }

  private static Volume volume(StatefulSet sts, String name) {
    return sts.getSpec().getTemplate().getSpec().getVolumes().stream()
        .filter(v -> v.getName().equals(name))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no volume " + name));
  }

  private static VolumeMount mount(Container container, String name) {
    return container.getVolumeMounts().stream()
        .filter(m -> m.getName().equals(name))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no mount " + name));
  }

  private static TrainingRun example(String file) {
    var run = Fixtures.example(file, "ns");
    run.getMetadata().setUid("uid-1");
    return run;
  }
}
