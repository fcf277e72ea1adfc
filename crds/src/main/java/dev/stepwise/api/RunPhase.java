package dev.stepwise.api;

/** Coarse lifecycle of a {@link TrainingRun}, as shown by {@code kubectl get trainingruns}. */
public enum RunPhase {
  Pending,
  Running,
  Resuming,
  Suspended,
  Succeeded,
  Failed
}
