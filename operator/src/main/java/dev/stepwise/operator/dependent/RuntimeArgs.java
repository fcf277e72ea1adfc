package dev.stepwise.operator.dependent;

import dev.stepwise.api.CkptSpec;
import dev.stepwise.api.RunPaths;
import dev.stepwise.api.RunType;
import dev.stepwise.api.TrainingRun;
import dev.stepwise.operator.Roles;
import dev.stepwise.operator.checkpoint.InitSource;
import java.util.ArrayList;
import java.util.List;

/** The runtime CLI as the pods of a run call it: {@code stepwise <subcommand> @ file.toml ...}. */
public final class RuntimeArgs {

  public static final String COMMAND = "stepwise";
  public static final String CONFIG_DIR = "/etc/stepwise";
  public static final String RUN_DIR = "/var/lib/stepwise/run";

  /** Where trainer pods mount, read-only, the volume of the run spec.init starts from. */
  public static final String INIT_DIR = "/var/lib/stepwise/init";

  public static final int MASTER_PORT = 29500;
  public static final int INFERENCE_PORT = 8000;

  /** Where trainer and orchestrator serve Prometheus metrics ({@code /metrics}); port "metrics". */
  public static final int METRICS_PORT = 9400;

  public static final String METRICS_PORT_NAME = "metrics";

  /** Seconds of a pod's grace period kept back from the runtime's stop deadline. */
  static final int STOP_MARGIN_SECONDS = 10;

  private RuntimeArgs() {}

  /**
   * {@code sft ...} for an sft run, {@code trainer ...} for an rl run; with spec.init, {@code
   * --init.checkpoint} names the source run's step directory on its mounted volume.
   */
  public static List<String> trainer(TrainingRun run) {
    var subcommand = run.getSpec().getType() == RunType.RL ? "trainer" : "sft";
    var args = common(subcommand, Roles.TRAINER);
    args.addAll(steps(run));
    InitSource.of(run)
        .ifPresent(c -> args.addAll(List.of("--init.checkpoint", initCheckpoint(c.getStep()))));
    args.addAll(
        List.of(
            "--metrics.port",
            String.valueOf(METRICS_PORT),
            "--progress.interval",
            String.valueOf(run.getSpec().progressIntervalOrDefault())));
    return args;
  }

  /** The source run's {@code checkpoints/step_<n>} as the trainer pods see it. */
  static String initCheckpoint(long step) {
    return INIT_DIR + "/" + RunPaths.checkpointDir(step);
  }

  public static List<String> orchestrator(TrainingRun run) {
    var args = common("orchestrator", Roles.ORCHESTRATOR);
    args.addAll(steps(run));
    args.addAll(List.of("--metrics.port", String.valueOf(METRICS_PORT)));
    args.add("--client.base-url");
    args.add(InferenceServiceDependent.url(run));
    return args;
  }

  public static List<String> inference(TrainingRun run) {
    var args = common("inference", Roles.INFERENCE);
    args.add("--server.port");
    args.add(String.valueOf(INFERENCE_PORT));
    return args;
  }

  private static List<String> common(String subcommand, Roles role) {
    return new ArrayList<>(
        List.of(
            subcommand,
            "@",
            CONFIG_DIR + "/" + role.configFile(),
            "--output-dir",
            RUN_DIR,
            // Pods log JSON lines (level, logger, step...) for log collectors.
            "--log.format",
            "json"));
  }

  /**
   * {@code --max-steps} and every {@code --ckpt.*} setting of the spec, in a stable order, then
   * where to start: the accepted resume point and timeline from the status (the write-ahead record
   * of a resume, never spec.resumeStep directly, so a rejected resume changes no pod), and {@code
   * --ckpt.recover} so a restarted pod continues from its timeline's newest checkpoint. Retention
   * is the operator's: the runtime gets {@code --ckpt.retention external}.
   */
  static List<String> steps(TrainingRun run) {
    var spec = run.getSpec();
    var args = new ArrayList<>(List.of("--max-steps", String.valueOf(spec.getMaxSteps())));
    var ckpt = spec.getCkpt();
    if (ckpt == null) {
      return args;
    }
    // The pod's grace period less a margin for the exit and the Checkpoint report.
    args.addAll(
        List.of(
            "--ckpt.stop-deadline",
            String.valueOf(CkptSpec.stopGracePeriodSeconds(ckpt) - STOP_MARGIN_SECONDS)));
    if (ckpt.getInterval() != null) {
      args.addAll(List.of("--ckpt.interval", String.valueOf(ckpt.getInterval())));
    }
    if (Boolean.TRUE.equals(ckpt.getSaveAsync())) {
      args.add("--ckpt.save-async");
    }
    args.addAll(List.of("--ckpt.retention", "external"));
    var status = run.getStatus();
    var resumedFrom = status == null ? null : status.getResumedFrom();
    if (resumedFrom != null && resumedFrom > 0) {
      args.addAll(List.of("--ckpt.resume-step", String.valueOf(resumedFrom)));
    }
    var timeline = status == null || status.getTimeline() == null ? 0 : status.getTimeline();
    args.addAll(List.of("--ckpt.timeline", String.valueOf(timeline), "--ckpt.recover"));
    return args;
  }
}
