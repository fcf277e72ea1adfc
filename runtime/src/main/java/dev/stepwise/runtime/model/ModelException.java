package dev.stepwise.runtime.model;

/** A model directory, config or weights file that cannot be used; the message names the file. */
public final class ModelException extends RuntimeException {

  public ModelException(String message) {
    super(message);
  }

  public ModelException(String message, Throwable cause) {
    super(message, cause);
  }
}
