package dev.stepwise.runtime.checkpoint;

import dev.stepwise.api.RunPaths;
import java.nio.file.Path;
import java.util.OptionalLong;
import java.util.regex.Pattern;

/**
 * The one place that knows the on-disk layout of a run directory, shared by every role (and read by
 * the operator):
 *
 * <pre>
 * &lt;run&gt;/checkpoints/step_&lt;n&gt;/trainer/        model-rank&lt;r&gt;-of-&lt;w&gt;.safetensors, optimizer-..., *.json
 * &lt;run&gt;/checkpoints/step_&lt;n&gt;/orchestrator/
 * &lt;run&gt;/checkpoints/step_&lt;n&gt;/manifest.json   written last: the step is a checkpoint only once it exists
 * &lt;run&gt;/weights/step_&lt;n&gt;/                    trainer -&gt; inference
 * &lt;run&gt;/rollouts/step_&lt;n&gt;/                   orchestrator -&gt; trainer
 * &lt;run&gt;/metrics.jsonl                       the trainer's per-step metrics
 * </pre>
 *
 * The names it shares with the operator come from the API module's {@link RunPaths}; the hand-off
 * formats that live in it are {@link PolicyWeights} and {@link Rollouts}.
 */
public final class RunLayout {

  public static final String DEFAULT_CHECKPOINTS = RunPaths.CHECKPOINTS;
  public static final String MANIFEST = RunPaths.MANIFEST;
  public static final String TRAINER = "trainer";
  public static final String ORCHESTRATOR = "orchestrator";

  /** Each role's progress in its part of a checkpoint: {@code trainer/progress.json}, ... */
  public static final String PROGRESS = "progress.json";

  /** The per-step metrics log, {@code <run>/metrics.jsonl} (one JSON object per line). */
  public static final String METRICS = "metrics.jsonl";

  /** Completion marker of a published {@code weights/step_<n>} or {@code rollouts/step_<n>}. */
  public static final String PUBLISHED = "published.json";

  /** Completion marker of one role's part of a checkpoint, written by that role last. */
  public static final String PART_COMPLETE = "part-complete.json";

  private static final Pattern STEP_DIR =
      Pattern.compile(Pattern.quote(RunPaths.STEP_PREFIX) + "(0|[1-9][0-9]{0,17})");

  /** Hidden names beside the step directories: {@code .step_<n>.staging}, tombstones. */
  private static final String HIDDEN = ".";

  private static final String STAGING = ".staging";

  private final Path root;
  private final Path checkpoints;

  public RunLayout(Path root) {
    this(root, DEFAULT_CHECKPOINTS);
  }

  /** {@code checkpointsDir} is resolved against {@code root} (an absolute path stays as is). */
  public RunLayout(Path root, String checkpointsDir) {
    this.root = root;
    this.checkpoints = root.resolve(checkpointsDir);
  }

  public Path root() {
    return root;
  }

  public Path checkpointsDir() {
    return checkpoints;
  }

  public Path stepDir(long step) {
    return checkpoints.resolve(stepDirName(step));
  }

  public Path componentDir(long step, String component) {
    return stepDir(step).resolve(component);
  }

  public Path manifest(long step) {
    return stepDir(step).resolve(MANIFEST);
  }

  /** {@code <run>/metrics.jsonl}: the trainer's per-step metrics. */
  public Path metricsLog() {
    return root.resolve(METRICS);
  }

  /** {@code <run>/weights}: the parent of every {@link #weightsDir}. */
  public Path weightsRoot() {
    return root.resolve(RunPaths.WEIGHTS);
  }

  public Path weightsDir(long step) {
    return weightsRoot().resolve(stepDirName(step));
  }

  /** {@code <run>/rollouts}: the parent of every {@link #rolloutsDir}. */
  public Path rolloutsRoot() {
    return root.resolve(RunPaths.ROLLOUTS);
  }

  public Path rolloutsDir(long step) {
    return rolloutsRoot().resolve(stepDirName(step));
  }

  /** The completion marker of {@code component}'s part of checkpoint {@code step}. */
  public Path partMarker(long step, String component) {
    return componentDir(step, component).resolve(PART_COMPLETE);
  }

  /**
   * Where a save of {@code step} is staged when that step is already a complete checkpoint, before
   * it is swapped in: {@code .step_<n>.staging} beside it (hidden: never read as a checkpoint).
   */
  public Path stagingDir(long step) {
    return checkpoints.resolve(HIDDEN + stepDirName(step) + STAGING);
  }

  /** Why a step directory was renamed to a hidden tombstone before it is deleted. */
  public enum Tombstone {
    /** {@code stepwise checkpoint delete} took the checkpoint away. */
    DELETED(".deleted-"),
    /** A save of the same step (another timeline) replaced it. */
    REPLACED(".replaced-");

    private final String mark;

    Tombstone(String mark) {
      this.mark = mark;
    }
  }

  /**
   * A fresh hidden name for the step directory of {@code step} on its way out: {@code
   * .step_<n>.deleted-<nanos>} (renamed there atomically, it stops being a checkpoint at once).
   */
  public Path tombstone(long step, Tombstone why) {
    return checkpoints.resolve(HIDDEN + stepDirName(step) + why.mark + System.nanoTime());
  }

  /** Whether {@code fileName} is a {@link #tombstone} that a crash may have left behind. */
  public static boolean isTombstone(String fileName) {
    if (!fileName.startsWith(HIDDEN + RunPaths.STEP_PREFIX)) {
      return false;
    }
    for (var why : Tombstone.values()) {
      if (fileName.contains(why.mark)) {
        return true;
      }
    }
    return false;
  }

  /** {@code step_<n>}. */
  public static String stepDirName(long step) {
    return RunPaths.stepDirName(step);
  }

  /** The step of a {@code step_<n>} directory name, or empty for any other name. */
  public static OptionalLong parseStep(String dirName) {
    var m = STEP_DIR.matcher(dirName);
    return m.matches() ? OptionalLong.of(Long.parseLong(m.group(1))) : OptionalLong.empty();
  }

  /** A per-rank shard file: {@code model-rank0-of-2.safetensors}. */
  public static String shardFile(String kind, int rank, int worldSize) {
    return kind + "-rank" + rank + "-of-" + worldSize + ".safetensors";
  }

  /**
   * Whether {@code fileName} is a per-rank shard file of {@code kind} (any rank, any world size).
   */
  public static boolean isShardFile(String kind, String fileName) {
    return fileName.startsWith(kind + "-rank") && fileName.endsWith(".safetensors");
  }

  /**
   * Which shard file holds each tensor of {@code kind} (Hugging Face's {@code weight_map} format):
   * {@code model.safetensors.index.json}.
   */
  public static String shardIndexFile(String kind) {
    return kind + ".safetensors.index.json";
  }

  /** A per-rank JSON state file: {@code rank0-of-2.json}. */
  public static String rankStateFile(int rank, int worldSize) {
    return "rank" + rank + "-of-" + worldSize + ".json";
  }
}
