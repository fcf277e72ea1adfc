package dev.stepwise.operator.status;

import dev.stepwise.api.ObservedPod;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Counts recoveries of a run's trainer and orchestrator pods: restarts of their containers since
 * they were last seen (not those after a clean exit: a finished trainer that Kubernetes starts
 * again just finds its run complete), plus pods lost and replaced by a pod of the same template
 * revision (a deleted or evicted pod; a rollout after a spec change or a resume brings a new
 * revision, and a scale-down no replacement, so neither counts).
 */
public final class RestartCounter {

  /** The new count and the pods to remember for next time. */
  public record Result(int restarts, List<ObservedPod> pods) {}

  private RestartCounter() {}

  /**
   * @param cleanExits UIDs of pods whose containers last exited with status 0
   */
  public static Result count(
      Integer previousRestarts,
      Collection<ObservedPod> previous,
      Collection<ObservedPod> now,
      Set<String> cleanExits) {
    var restarts = previousRestarts == null ? 0 : previousRestarts;
    var before =
        previous.stream().collect(Collectors.toMap(ObservedPod::getUid, Function.identity()));
    var nowUids = now.stream().map(ObservedPod::getUid).collect(Collectors.toSet());
    var lost = previous.stream().filter(p -> !nowUids.contains(p.getUid())).toList();
    var fresh = new ArrayList<ObservedPod>();
    for (var pod : now) {
      var old = before.get(pod.getUid());
      var count = pod.getRestarts() == null ? 0 : pod.getRestarts();
      var seen = old == null || old.getRestarts() == null ? 0 : old.getRestarts();
      if (old == null) {
        fresh.add(pod);
      }
      if (!cleanExits.contains(pod.getUid())) {
        restarts += Math.max(0, count - seen);
      }
    }
    for (var gone : lost) {
      var replaced =
          fresh.stream()
              .filter(p -> Objects.equals(p.getComponent(), gone.getComponent()))
              .filter(p -> gone.getRevision() != null)
              .filter(p -> Objects.equals(p.getRevision(), gone.getRevision()))
              .findFirst();
      if (replaced.isPresent()) {
        restarts++;
        fresh.remove(replaced.get());
      }
    }
    var pods = now.stream().sorted(Comparator.comparing(ObservedPod::getName)).toList();
    return new Result(restarts, pods);
  }
}
