package dev.stepwise.runtime.k8s;

import dev.stepwise.api.Checkpoint;
import java.util.Map;
import java.util.Optional;

/**
 * Which TrainingRun a pod belongs to, from the variables the operator sets on trainer pods. Absent
 * locally (no {@value #RUN} variable): then nothing is reported to any API server.
 */
public record RunIdentity(String run, String namespace, String uid) {

  public static final String RUN = "STEPWISE_TRAINING_RUN";
  public static final String NAMESPACE = "STEPWISE_NAMESPACE";
  public static final String RUN_UID = "STEPWISE_RUN_UID";

  /** The identity in {@code env}, when this process runs in a pod of the operator's rank 0. */
  public static Optional<RunIdentity> fromEnvironment(Map<String, String> env) {
    var run = env.get(RUN);
    if (run == null || run.isBlank()) {
      return Optional.empty();
    }
    var rank = env.getOrDefault("RANK", "0");
    if (!"0".equals(rank.strip())) {
      return Optional.empty(); // rank 0 speaks for the whole world
    }
    var namespace = env.get(NAMESPACE);
    if (namespace == null || namespace.isBlank()) {
      throw new IllegalStateException(
          RUN + " is set but " + NAMESPACE + " is not: cannot report checkpoints of " + run);
    }
    return Optional.of(new RunIdentity(run, namespace, env.get(RUN_UID)));
  }

  /** The Checkpoint resource name of {@code step}: {@code <run>-step-<n>}. */
  public String checkpointName(long step) {
    return Checkpoint.nameOf(run, step);
  }
}
