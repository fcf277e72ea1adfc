package dev.stepwise.operator.status;

import io.fabric8.kubernetes.client.KubernetesClientException;
import io.javaoperatorsdk.operator.AggregatedOperatorException;
import io.javaoperatorsdk.operator.api.reconciler.RetryInfo;
import java.net.HttpURLConnection;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * One line for humans from a reconcile error, for a condition message or an Event, and what kind of
 * error it is (worth reporting, a refusal of a namespace being deleted).
 */
public final class ErrorMessages {

  /** Kubernetes caps an Event message near 1 KiB; conditions take more, but a line is enough. */
  static final int MAX_LENGTH = 512;

  /** The cause the API server gives for a create refused in a namespace being deleted. */
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
    return apiErrors(e).anyMatch(k -> k.getCode() == HttpURLConnection.HTTP_CONFLICT);
  }

  /**
   * Whether the API server refused a write because the namespace is being deleted (the
   * NamespaceLifecycle admission answers 403 with a cause of type {@code NamespaceTerminating},
   * which the API's JSON, and so Fabric8, calls the cause's reason): everything in it goes with it,
   * so nothing is left to build or clean up, and retrying only repeats the refusal until the
   * namespace is gone.
   */
  public static boolean isNamespaceTerminating(Throwable e) {
    return apiErrors(e)
        .map(KubernetesClientException::getStatus)
        .filter(s -> s != null && s.getDetails() != null && s.getDetails().getCauses() != null)
        .flatMap(s -> s.getDetails().getCauses().stream())
        .anyMatch(c -> NAMESPACE_TERMINATING.equals(c.getReason()));
  }

  private static final String NAMESPACE_TERMINATING = "NamespaceTerminating";

  /**
   * The API errors in {@code e}: along its causes and into every step of a failed workflow (Java
   * Operator SDK aggregates the errors of a run's children, without a cause).
   */
  private static Stream<KubernetesClientException> apiErrors(Throwable e) {
    var found = new ArrayList<KubernetesClientException>();
    var seen = Collections.newSetFromMap(new IdentityHashMap<Throwable, Boolean>());
    var pending = new ArrayDeque<Throwable>(List.of(e));
    while (!pending.isEmpty()) {
      var next = pending.pop();
      if (!seen.add(next)) {
        continue; // a cause cycle
      }
      if (next instanceof KubernetesClientException k) {
        found.add(k);
      }
      if (next instanceof AggregatedOperatorException aggregated) {
        pending.addAll(aggregated.getAggregatedExceptions().values());
      }
      if (next.getCause() != null) {
        pending.push(next.getCause());
      }
    }
    return found.stream();
  }
}
