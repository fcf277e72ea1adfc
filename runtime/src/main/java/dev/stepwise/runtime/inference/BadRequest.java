package dev.stepwise.runtime.inference;

/** A request the server refuses: HTTP status, the offending field (or null) and why. */
final class BadRequest extends RuntimeException {

  private final int status;
  private final String param;

  BadRequest(int status, String param, String message) {
    super(message);
    this.status = status;
    this.param = param;
  }

  int status() {
    return status;
  }

  String param() {
    return param;
  }
}
