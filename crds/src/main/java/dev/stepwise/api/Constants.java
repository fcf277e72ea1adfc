package dev.stepwise.api;

/** API group and version shared by every Stepwise kind, and the keys operator and runtime share. */
public final class Constants {

  public static final String GROUP = "stepwise.dev";
  public static final String VERSION = "v1alpha1";

  /** Label on every object of a run, and on its Checkpoints: the TrainingRun's name. */
  public static final String LABEL_TRAINING_RUN = GROUP + "/training-run";

  /**
   * Label on a Checkpoint mirroring status.phase: {@code kubectl get ckpt -l
   * stepwise.dev/phase=Ready}.
   */
  public static final String LABEL_PHASE = GROUP + "/phase";

  /** Finalizer on every Checkpoint: its data on the run volume is deleted before it goes away. */
  public static final String CHECKPOINT_FINALIZER = GROUP + "/checkpoint-data";

  /** Annotation on a Checkpoint saying why it was written when not on schedule: Preemption. */
  public static final String ANNOTATION_CHECKPOINT_REASON = GROUP + "/checkpoint-reason";

  /** Pod variable naming the TrainingRun a trainer pod belongs to (set by the operator). */
  public static final String ENV_TRAINING_RUN = "STEPWISE_TRAINING_RUN";

  /** Pod variable naming the namespace of that TrainingRun. */
  public static final String ENV_NAMESPACE = "STEPWISE_NAMESPACE";

  /**
   * Pod variable holding the TrainingRun's uid, for the owner reference of reported Checkpoints.
   */
  public static final String ENV_RUN_UID = "STEPWISE_RUN_UID";

  private Constants() {}
}
