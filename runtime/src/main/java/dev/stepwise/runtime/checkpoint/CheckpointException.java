package dev.stepwise.runtime.checkpoint;

/** A checkpoint cannot be written, found, verified or loaded. */
public class CheckpointException extends RuntimeException {

  public CheckpointException(String message) {
    super(message);
  }

  public CheckpointException(String message, Throwable cause) {
    super(message, cause);
  }
}
