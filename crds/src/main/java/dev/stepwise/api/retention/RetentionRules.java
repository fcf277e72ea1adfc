package dev.stepwise.api.retention;

import dev.stepwise.api.CkptSpec;
import dev.stepwise.api.KeepBestSpec;

/**
 * The retention rules of a run, as {@code spec.ckpt} and the runtime's {@code --ckpt.*} flags give
 * them (same names, same meaning).
 *
 * @param keep the newest this many stay; null keeps every checkpoint (then keepEvery and keepBest
 *     add nothing)
 * @param keepEvery also keep steps that are multiples of this; may be null
 * @param keepBest also keep the best by a metric; may be null
 * @param maxBytes disk quota over all complete checkpoints; null for none
 */
public record RetentionRules(
    Integer keep, Integer keepEvery, KeepBestSpec keepBest, Long maxBytes) {

  /** Keeps everything. */
  public static final RetentionRules KEEP_ALL = new RetentionRules(null, null, null, null);

  public RetentionRules {
    if (keep != null && keep < 1) {
      throw new IllegalArgumentException("keep must be at least 1, was " + keep);
    }
    if (keepEvery != null && keepEvery < 1) {
      throw new IllegalArgumentException("keepEvery must be at least 1, was " + keepEvery);
    }
    if (keepBest != null && (keepBest.getMetric() == null || keepBest.getCount() == null)) {
      throw new IllegalArgumentException("keepBest needs metric and count");
    }
    if (keepBest != null && keepBest.getCount() < 1) {
      throw new IllegalArgumentException("keepBest.count must be at least 1");
    }
    if (keep == null && (keepEvery != null || keepBest != null)) {
      throw new IllegalArgumentException(
          "keepEvery and keepBest keep checkpoints in addition to the newest `keep`: set keep too");
    }
    if (maxBytes != null && maxBytes < 0) {
      throw new IllegalArgumentException("maxBytes must be >= 0, was " + maxBytes);
    }
  }

  /** The rules of {@code spec.ckpt} (null: keep everything). */
  public static RetentionRules of(CkptSpec ckpt) {
    if (ckpt == null) {
      return KEEP_ALL;
    }
    var quota = ckpt.getMaxBytes();
    return new RetentionRules(
        ckpt.getKeep(),
        ckpt.getKeepEvery(),
        ckpt.getKeepBest(),
        quota == null ? null : quota.getNumericalAmount().longValueExact());
  }

  /** True when nothing is ever deleted. */
  public boolean keepsAll() {
    return keep == null && maxBytes == null;
  }
}
