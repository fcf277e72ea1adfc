package dev.stepwise.operator.status;

import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Why a run's pods cannot run, as their kubelet reports it: a container that cannot be created or
 * started (bad image, missing config, a command that does not exist) or that keeps crashing. One
 * line per pod, stable while the cause lasts, so that the run's conditions change only when it
 * does.
 */
public final class PodProblems {

  /** Waiting reasons that mean the container will not start by waiting longer. */
  private static final Set<String> CANNOT_START =
      Set.of(
          "ErrImagePull",
          "ImagePullBackOff",
          "InvalidImageName",
          "CreateContainerConfigError",
          "CreateContainerError",
          "RunContainerError");

  private PodProblems() {}

  /** The problems of {@code pods}, by pod name. */
  public static List<String> of(Collection<Pod> pods) {
    return pods.stream()
        .filter(p -> p.getMetadata().getDeletionTimestamp() == null)
        .sorted(Comparator.comparing(p -> p.getMetadata().getName()))
        .flatMap(p -> problem(p).stream())
        .toList();
  }

  private static Optional<String> problem(Pod pod) {
    var statuses = pod.getStatus() == null ? null : pod.getStatus().getContainerStatuses();
    if (statuses == null) {
      return Optional.empty();
    }
    for (ContainerStatus status : statuses) {
      var waiting = status.getState() == null ? null : status.getState().getWaiting();
      if (waiting == null || waiting.getReason() == null) {
        continue;
      }
      var name = pod.getMetadata().getName();
      if (CANNOT_START.contains(waiting.getReason())) {
        return Optional.of(
            "pod %s: %s: %s".formatted(name, waiting.getReason(), firstLine(waiting.getMessage())));
      }
      if ("CrashLoopBackOff".equals(waiting.getReason())) {
        var last = status.getLastState() == null ? null : status.getLastState().getTerminated();
        return Optional.of(
            "pod %s: CrashLoopBackOff (last exit code %s)"
                .formatted(name, last == null ? "unknown" : last.getExitCode()));
      }
    }
    return Optional.empty();
  }

  private static String firstLine(String message) {
    if (message == null) {
      return "";
    }
    var line = message.lines().findFirst().orElse("");
    return line.length() > 300 ? line.substring(0, 300) + "..." : line;
  }
}
