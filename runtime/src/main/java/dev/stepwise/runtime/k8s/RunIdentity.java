package dev.stepwise.runtime.k8s;

import dev.stepwise.api.Checkpoint;
import dev.stepwise.api.Constants;
import java.util.Map;
import java.util.Optional;

/**
 * Which TrainingRun a pod belongs to, from the variables the operator sets on trainer pods ({@link
 * Constants#ENV_TRAINING_RUN} and its siblings). Absent locally: then nothing is reported to any
 * API server.
 */
public record RunIdentity(String run, String namespace, String uid) {

  /** The identity in {@code env}, when this process runs in a pod of the operator's rank 0. */
  public static Optional<RunIdentity> fromEnvironment(Map<String, String> env) {
    var run = env.get(Constants.ENV_TRAINING_RUN);
    if (run == null || run.isBlank()) {
      return Optional.empty();
    }
    var rank = env.getOrDefault("RANK", "0");
    if (!"0".equals(rank.strip())) {
      return Optional.empty(); // rank 0 speaks for the whole world
    }
    var namespace = env.get(Constants.ENV_NAMESPACE);
    if (namespace == null || namespace.isBlank()) {
      throw new IllegalStateException(
          Constants.ENV_TRAINING_RUN
              + " is set but "
              + Constants.ENV_NAMESPACE
              + " is not: cannot report checkpoints of "
              + run);
    }
    return Optional.of(new RunIdentity(run, namespace, env.get(Constants.ENV_RUN_UID)));
  }

  /** The Checkpoint resource name of {@code step}: {@code <run>-step-<n>}. */
  public String checkpointName(long step) {
    return Checkpoint.nameOf(run, step);
  }
}
