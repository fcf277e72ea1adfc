package dev.stepwise.operator.status;

import io.fabric8.kubernetes.client.KubernetesClientException;
import io.javaoperatorsdk.operator.api.reconciler.RetryInfo;
import java.net.HttpURLConnection;
import java.util.Optional;

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

  /**
   * Whether a failed reconcile is worth reporting on the resource: not when it lost an optimistic
   * lock to another writer (409 Conflict: a stale cache, the runtime reporting at the same moment),
   * which the retry that follows resolves with fresh state, unless retries are exhausted.
   */
  public static boolean worthReporting(Exception e, Optional<RetryInfo> retry) {
    return !isConflict(e) || retry.map(RetryInfo::isLastAttempt).orElse(true);
  }

  static boolean isConflict(Throwable e) {
    for (var cause = e; cause != null; cause = cause.getCause()) {
      if (cause instanceof KubernetesClientException k
          && k.getCode() == HttpURLConnection.HTTP_CONFLICT) {
        return true;
      }
    }
    return false;
  }
}
