package dev.stepwise.runtime.config;

import dev.stepwise.api.retention.RetentionRules;
import dev.stepwise.runtime.checkpoint.Checksum;
import dev.stepwise.runtime.checkpoint.RunLayout;

/** Checkpointing. Off unless the config names it; {@code --ckpt} alone writes the final step. */
public record CkptConfig(
    @Doc("Checkpoint directory, relative to output-dir") String dir,
    @Doc("Also checkpoint every N steps") @Min(1) Integer interval,
    @Doc("Write checkpoints in the background while training continues") boolean saveAsync,
    @Doc("Keep only the K most recent checkpoints on disk") @Min(1) Integer keep,
    @Doc("With keep: also keep every checkpoint whose step is a multiple of N (milestones)") @Min(1)
        Integer keepEvery,
    @Doc("With keep: also keep the best checkpoints by a metric their manifest records")
        KeepBestConfig keepBest,
    @Doc(
            "Disk quota of all checkpoints (bytes, or a quantity like 50Gi): the oldest ones that are"
                + " not protected are deleted until the rest fit")
        ByteSize maxBytes,
    @Doc("Resume from this step (or latest)") ResumeStep resumeStep,
    @Doc(
            "Who enforces keep, keep-every, keep-best and max-bytes: local (this process) or"
                + " external (the operator)")
        Retention retention,
    @Doc("Timeline stamped in each manifest; a resume to an earlier step starts a new one") @Min(0)
        long timeline,
    @Doc("At start, continue from the newest complete checkpoint of this timeline if any")
        boolean recover,
    @Doc(
            "Checksum recorded per file and verified on load: crc32c (fast, the default) or sha256"
                + " (cryptographic, bounded by about 1.5 GB/s per core)")
        Checksum checksum,
    @Doc(
            "On SIGTERM/SIGINT, finish the step in flight, write a complete checkpoint of it and exit"
                + " 0; a second signal or the stop deadline aborts the save (exit 143)")
        boolean onSignal,
    @Doc(
            "Seconds after the first stop signal by which the checkpoint must be complete, else it"
                + " is aborted; keep it below the pod's terminationGracePeriodSeconds")
        @Min(1)
        double stopDeadline,
    @Doc("Checkpoint files written (and read) at once; 0 means one per core, at most 4") @Min(0)
        int ioThreads) {

  public CkptConfig {
    if (keep == null && keepEvery != null) {
      throw new IllegalArgumentException(
          "--ckpt.keep-every needs --ckpt.keep: it keeps multiples of "
              + keepEvery
              + " in addition to the newest keep (without keep, every checkpoint stays)");
    }
    if (keepBest != null) {
      if (keep == null) {
        throw new IllegalArgumentException(
            "--ckpt.keep-best needs --ckpt.keep: it keeps the best in addition to the newest keep"
                + " (without keep, every checkpoint stays)");
      }
      if (keepBest.metric() == null) {
        throw new IllegalArgumentException(
            "--ckpt.keep-best needs --ckpt.keep-best.metric (loss, evalLoss, evalAccuracy or"
                + " meanReward)");
      }
      if (keepBest.count() == null) {
        throw new IllegalArgumentException(
            "--ckpt.keep-best needs --ckpt.keep-best.count (how many of the best to keep)");
      }
    }
  }

  /** The config without keep-every, keep-best and max-bytes (only keep, if any, deletes). */
  public CkptConfig(
      String dir,
      Integer interval,
      boolean saveAsync,
      Integer keep,
      ResumeStep resumeStep,
      Retention retention,
      long timeline,
      boolean recover,
      Checksum checksum,
      boolean onSignal,
      double stopDeadline,
      int ioThreads) {
    this(
        dir,
        interval,
        saveAsync,
        keep,
        null,
        null,
        null,
        resumeStep,
        retention,
        timeline,
        recover,
        checksum,
        onSignal,
        stopDeadline,
        ioThreads);
  }

  /** The retention rules these keys give, as the operator reads {@code spec.ckpt}. */
  public RetentionRules retentionRules() {
    return new RetentionRules(
        keep,
        keepEvery,
        keepBest == null ? null : keepBest.toSpec(),
        maxBytes == null ? null : maxBytes.bytes());
  }

  /** Who deletes old checkpoints. */
  public enum Retention {
    LOCAL,
    EXTERNAL
  }

  public static CkptConfig defaults() {
    return new CkptConfig(
        RunLayout.DEFAULT_CHECKPOINTS,
        null,
        false,
        null,
        null,
        Retention.LOCAL,
        0,
        false,
        Checksum.CRC32C,
        true,
        DEFAULT_STOP_DEADLINE_SECONDS,
        0);
  }

  /** Below Kubernetes' default grace period of 30 s, leaving time to exit. */
  public static final double DEFAULT_STOP_DEADLINE_SECONDS = 25;

  /** Whether {@code step} is due a checkpoint: every {@code interval} steps, and the final step. */
  public boolean due(long step, long maxSteps) {
    return step == maxSteps || (interval != null && step % interval == 0);
  }

  /** The number of files a save or a load handles at once ({@code io-threads}, 0 = per core). */
  public int effectiveIoThreads() {
    return ioThreads > 0 ? ioThreads : Math.min(4, Runtime.getRuntime().availableProcessors());
  }
}
