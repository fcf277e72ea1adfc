package dev.stepwise.runtime.config;

/** Checkpointing. Off unless the config names it; {@code --ckpt} alone writes the final step. */
public record CkptConfig(
    @Doc("Checkpoint directory, relative to output-dir") String dir,
    @Doc("Also checkpoint every N steps") @Min(1) Integer interval,
    @Doc("Write checkpoints in the background while training continues") boolean saveAsync,
    @Doc("Keep only the K most recent checkpoints on disk") @Min(1) Integer keep,
    @Doc("Resume from this step (or latest)") ResumeStep resumeStep,
    @Doc("Who enforces keep: local (this process) or external (the operator)") Retention retention,
    @Doc("Timeline stamped in each manifest; a resume to an earlier step starts a new one") @Min(0)
        long timeline,
    @Doc("At start, continue from the newest complete checkpoint of this timeline if any")
        boolean recover) {

  /** Who deletes old checkpoints. */
  public enum Retention {
    LOCAL,
    EXTERNAL
  }

  public static CkptConfig defaults() {
    return new CkptConfig("checkpoints", null, false, null, null, Retention.LOCAL, 0, false);
  }
}
