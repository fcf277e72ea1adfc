package dev.stepwise.runtime.checkpoint;

/**
 * A save stopped on purpose before its manifest (a second stop signal, or the stop deadline): the
 * step directory is left without a manifest, so nothing reads it as a checkpoint.
 */
public final class CheckpointAbortedException extends CheckpointException {

  public CheckpointAbortedException(String message) {
    super(message);
  }
}
