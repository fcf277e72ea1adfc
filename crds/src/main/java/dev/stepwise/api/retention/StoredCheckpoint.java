package dev.stepwise.api.retention;

import dev.stepwise.api.CheckpointMetrics;

/**
 * One complete checkpoint as retention sees it.
 *
 * @param step its step
 * @param completedAt when it became complete (RFC 3339), or null; orders checkpoints newest first
 *     together with the step, since after a resume a newer timeline writes lower steps
 * @param sizeBytes bytes on disk, or null when unknown (then it does not count toward maxBytes)
 * @param metrics training metrics at its step, or null
 * @param pinned {@code spec.retain}: never deleted, and not counted toward keep
 */
public record StoredCheckpoint(
    long step, String completedAt, Long sizeBytes, CheckpointMetrics metrics, boolean pinned) {}
