package dev.stepwise.api;

/** Lifecycle of a {@link Checkpoint}. */
public enum CheckpointPhase {
  Pending,
  Ready,
  Deleting,
  Failed
}
