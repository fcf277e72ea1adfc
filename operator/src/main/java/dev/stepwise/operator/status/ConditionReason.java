package dev.stepwise.operator.status;

/**
 * Every reason the operator puts on a TrainingRun condition (CamelCase, as Kubernetes conditions
 * want): one vocabulary, so a new reason is added here and nowhere else.
 */
public enum ConditionReason {
  /** Degraded=False: the spec is valid. */
  AsExpected,
  /** Ready=True: every workload reports ready. */
  WorkloadsReady,
  /** Ready=False: pods are starting. */
  WorkloadsNotReady,
  /** Ready=False: a pod cannot run (bad image, unschedulable, crash loop). */
  PodsFailing,
  /** Progressing=True: a spec change rolls out. */
  RollingOut,
  /** Progressing=False: every workload runs the current generation. */
  RolloutComplete,
  /** spec.suspend is true. */
  Suspended,
  /** A Ready checkpoint at maxSteps: trainer and orchestrator scaled to zero. */
  Completed,
  /** Progressing=True: a resume was accepted. */
  Resuming,
  /** A required spec field is missing or contradicts another. */
  InvalidSpec,
  /** A role's TOML config in the spec does not parse. */
  InvalidConfig,
  /** spec.storage.existingClaim names no claim. */
  ExistingClaimNotFound,
  /** spec.resumeStep names no Ready checkpoint. */
  CheckpointNotFound,
  /** spec.init names no Ready checkpoint of its source run. */
  InitCheckpointNotFound,
  /** A reconcile failed with an error; the message says which, and it is retried. */
  ReconcileError,
  /** CheckpointQuota=True: the run's checkpoints fit in spec.ckpt.maxBytes. */
  WithinQuota,
  /**
   * CheckpointQuota=False: protected checkpoints alone exceed spec.ckpt.maxBytes, so nothing more
   * may be deleted.
   */
  ProtectedCheckpointsExceedQuota
}
