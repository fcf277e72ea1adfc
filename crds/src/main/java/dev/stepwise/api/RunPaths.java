package dev.stepwise.api;

/**
 * The path contract of a run directory that the operator and the runtime share: names relative to
 * the run directory. The runtime's {@code RunLayout} builds every path from these; the operator
 * reads the few it needs (the checkpoint directory of a step, the mount of an init source) without
 * importing the runtime.
 */
public final class RunPaths {

  /** Default folder of checkpoints under the run directory. */
  public static final String CHECKPOINTS = "checkpoints";

  /** Prefix of every per-step folder: {@code step_<n>}. */
  public static final String STEP_PREFIX = "step_";

  /** Written last into a checkpoint folder: the step is a checkpoint only once it exists. */
  public static final String MANIFEST = "manifest.json";

  /** Trainer -&gt; inference hand-off: {@code weights/step_<n>}. */
  public static final String WEIGHTS = "weights";

  /** Orchestrator -&gt; trainer hand-off: {@code rollouts/step_<n>}. */
  public static final String ROLLOUTS = "rollouts";

  private RunPaths() {}

  /** {@code step_<n>}. */
  public static String stepDirName(long step) {
    if (step < 0) {
      throw new IllegalArgumentException("step must be >= 0, was " + step);
    }
    return STEP_PREFIX + step;
  }

  /** {@code checkpoints/step_<n>}, relative to the run directory. */
  public static String checkpointDir(long step) {
    return CHECKPOINTS + "/" + stepDirName(step);
  }
}
