package dev.stepwise.runtime.checkpoint;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * Which published {@code weights/step_<w>} a run can no longer need. The orchestrator samples step
 * n with the weights of {@code w(n) = max(n - 1 - k, 0)} (k = async level), so
 *
 * <ul>
 *   <li>a resume from a complete checkpoint c needs the weights of c-k..c (the trainer publishes
 *       c+1 onwards again), for every complete checkpoint on disk, whatever its timeline;
 *   <li>the live run needs everything from {@code liveFrom - k} on, where {@code liveFrom} is where
 *       a crashed role would recover from (the newest complete checkpoint of the live timeline, or
 *       its origin when there is none yet);
 *   <li>and the weights inference is serving stay, whatever the above says.
 * </ul>
 *
 * Everything else goes.
 */
public final class WeightsRetention {

  private WeightsRetention() {}

  /** The steps of {@code published} that may be deleted, ascending. */
  public static List<Long> unneeded(
      Collection<Long> published,
      Collection<Long> completeCheckpoints,
      long liveFrom,
      int asyncLevel,
      long serving) {
    var unneeded = new ArrayList<Long>();
    for (var w : published.stream().sorted().toList()) {
      var needed =
          w >= liveFrom - asyncLevel
              || w == serving
              || completeCheckpoints.stream().anyMatch(c -> c - asyncLevel <= w && w <= c);
      if (!needed) {
        unneeded.add(w);
      }
    }
    return unneeded;
  }
}
