package dev.stepwise.operator.status;

import io.fabric8.kubernetes.client.KubernetesClientException;

/** One line for humans from a reconcile error, for a condition message or an Event. */
public final class ErrorMessages {

  /** Kubernetes caps an Event message near 1 KiB; conditions take more, but a line is enough. */
  static final int MAX_LENGTH = 512;

  private ErrorMessages() {}

  public static String of(Exception e) {
    Throwable cause = e;
    while (cause.getCause() != null && cause.getMessage() == null) {
      cause = cause.getCause();
    }
    var text =
        cause instanceof KubernetesClientException k && k.getStatus() != null
            ? "API server answered %d: %s".formatted(k.getCode(), k.getStatus().getMessage())
            : cause.getClass().getSimpleName() + ": " + cause.getMessage();
    var line = text.replaceAll("\\s+", " ").strip();
    return line.length() <= MAX_LENGTH ? line : line.substring(0, MAX_LENGTH - 1) + "…";
  }
}
