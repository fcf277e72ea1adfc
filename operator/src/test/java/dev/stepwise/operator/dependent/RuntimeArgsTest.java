package dev.stepwise.operator.dependent;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.stepwise.api.CkptSpec;
import dev.stepwise.api.RunType;
import dev.stepwise.api.TrainingRun;
import dev.stepwise.api.TrainingRunSpec;
import dev.stepwise.api.TrainingRunStatus;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.util.List;
import org.junit.jupiter.api.Test;

class RuntimeArgsTest {

  static TrainingRun run(RunType type, CkptSpec ckpt, Long resumeStep) {
    var run = new TrainingRun();
    run.setMetadata(new ObjectMetaBuilder().withName("r").withNamespace("ns").build());
    var spec = new TrainingRunSpec();
    spec.setType(type);
    spec.setMaxSteps(40L);
    spec.setCkpt(ckpt);
    spec.setResumeStep(resumeStep);
    run.setSpec(spec);
    return run;
  }

  /** The arguments of a 40-step run whose ckpt section sets nothing: the defaults. */
  private static final List<String> DEFAULT_CKPT_ARGS =
      List.of(
          "--max-steps",
          "40",
          "--ckpt.stop-deadline",
          "50",
          "--ckpt.retention",
          "external",
          "--ckpt.timeline",
          "0",
          "--ckpt.recover");

  @Test
  void everyCkptSettingThePodsActOnBecomesAFlagAndRetentionStaysWithTheOperator() {
    var ckpt = new CkptSpec();
    ckpt.setInterval(5);
    ckpt.setSaveAsync(true);
    ckpt.setKeep(2);
    ckpt.setStopGracePeriodSeconds(120);
    assertEquals(
        List.of(
            "sft",
            "@",
            "/etc/stepwise/trainer.toml",
            "--output-dir",
            "/var/lib/stepwise/run",
            "--log.format",
            "json",
            "--max-steps",
            "40",
            "--ckpt.stop-deadline",
            "110",
            "--ckpt.interval",
            "5",
            "--ckpt.save-async",
            "--ckpt.retention",
            "external",
            "--ckpt.resume-step",
            "20",
            "--ckpt.timeline",
            "3",
            "--ckpt.recover",
            "--metrics.port",
            "9400",
            "--progress.interval",
            "30"),
        RuntimeArgs.trainer(resumed(run(RunType.SFT, ckpt, 20L), 20L, 3L)));
  }

  static TrainingRun resumed(TrainingRun run, Long from, Long timeline) {
    var status = new TrainingRunStatus();
    status.setResumedFrom(from);
    status.setTimeline(timeline);
    run.setStatus(status);
    return run;
  }

  @Test
  void theResumePointComesFromTheStatusNeverFromTheSpecAlone() {
    var ckpt = new CkptSpec();
    assertEquals(
        DEFAULT_CKPT_ARGS,
        RuntimeArgs.steps(run(RunType.SFT, ckpt, 20L)),
        "a resume not yet accepted (status) changes no argument");
  }

  @Test
  void anEmptyCkptSectionEnablesTheDefaultsAndNoneCheckpointsNothing() {
    assertEquals(DEFAULT_CKPT_ARGS, RuntimeArgs.steps(run(RunType.SFT, new CkptSpec(), null)));
    assertEquals(List.of("--max-steps", "40"), RuntimeArgs.steps(run(RunType.SFT, null, null)));
  }

  @Test
  void rlRolesGetTheirSubcommandsAndTheInferenceUrl() {
    var run = run(RunType.RL, null, null);
    assertEquals("trainer", RuntimeArgs.trainer(run).get(0));
    assertEquals(
        List.of(
            "orchestrator",
            "@",
            "/etc/stepwise/orchestrator.toml",
            "--output-dir",
            "/var/lib/stepwise/run",
            "--log.format",
            "json",
            "--max-steps",
            "40",
            "--metrics.port",
            "9400",
            "--client.base-url",
            "http://r-inference.ns.svc:8000"),
        RuntimeArgs.orchestrator(run));
  }
}
