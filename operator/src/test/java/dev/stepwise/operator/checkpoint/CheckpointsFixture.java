package dev.stepwise.operator.checkpoint;

import dev.stepwise.api.Checkpoint;
import dev.stepwise.api.CheckpointPhase;
import dev.stepwise.api.CheckpointSpec;
import dev.stepwise.api.CheckpointStatus;
import dev.stepwise.api.TrainingRun;
import dev.stepwise.api.TrainingRunSpec;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.util.List;

/** Checkpoints of run "r" for the pure tests: step k completes at second k. */
final class CheckpointsFixture {

  private CheckpointsFixture() {}

  static Checkpoint ckpt(long step, CheckpointPhase phase, long timeline, boolean retain) {
    var c = new Checkpoint();
    c.setMetadata(new ObjectMetaBuilder().withName("r-step-" + step).withNamespace("ns").build());
    var spec = new CheckpointSpec();
    spec.setTrainingRun("r");
    spec.setStep(step);
    spec.setRetain(retain);
    c.setSpec(spec);
    var status = new CheckpointStatus();
    status.setPhase(phase);
    status.setTimeline(timeline);
    status.setCompletedAt("2026-01-01T00:%02d:%02dZ".formatted(step / 60, step % 60));
    c.setStatus(status);
    return c;
  }

  static Checkpoint ready(long step) {
    return ckpt(step, CheckpointPhase.Ready, 0, false);
  }

  static TrainingRun run(Long resumeStep) {
    var run = new TrainingRun();
    run.setMetadata(
        new ObjectMetaBuilder().withName("r").withNamespace("ns").withGeneration(4L).build());
    var spec = new TrainingRunSpec();
    spec.setMaxSteps(40L);
    spec.setResumeStep(resumeStep);
    run.setSpec(spec);
    return run;
  }

  static RunCheckpoints of(Checkpoint... checkpoints) {
    return RunCheckpoints.of(run(null), List.of(checkpoints));
  }

  static List<Long> steps(List<Checkpoint> checkpoints) {
    return checkpoints.stream().map(c -> c.getSpec().getStep()).toList();
  }
}
