package dev.stepwise.api.retention;

import dev.stepwise.api.MetricOrder;
import dev.stepwise.api.retention.RetentionDecision.Deletion;
import dev.stepwise.api.retention.RetentionDecision.Quota;
import dev.stepwise.api.retention.RetentionDecision.QuotaState;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * Which complete checkpoints of a run to delete: one pure decision, applied alike by the operator
 * (to Checkpoint resources) and by the local runtime ({@code --ckpt.retention local}, to step
 * folders).
 *
 * <ol>
 *   <li>Count rules, only when {@code keep} is set: a checkpoint stays when it is among the newest
 *       {@code keep} (pinned ones do not count), or its step is a multiple of {@code keepEvery}, or
 *       it is among the best {@code keepBest.count} by {@code keepBest.metric}.
 *   <li>Quota: while the kept ones exceed {@code maxBytes}, the oldest kept one that is not
 *       protected is deleted too, whatever rule kept it.
 * </ol>
 *
 * Never deleted by any rule: pinned checkpoints, {@code protectedSteps} (the resume point, another
 * run's {@code spec.init} source) and, by the quota, the newest checkpoint (where a restarted run
 * continues). Checkpoints being written are not complete and never passed in.
 */
public final class Retention {

  private static final Comparator<StoredCheckpoint> NEWEST_FIRST =
      Comparator.comparing((StoredCheckpoint c) -> Objects.requireNonNullElse(c.completedAt(), ""))
          .thenComparingLong(StoredCheckpoint::step)
          .reversed();

  private Retention() {}

  public static RetentionDecision decide(
      RetentionRules rules, Collection<StoredCheckpoint> complete, Set<Long> protectedSteps) {
    var newestFirst = complete.stream().sorted(NEWEST_FIRST).toList();
    var kept = new LinkedHashMap<Long, List<String>>();
    var deletions = new ArrayList<Deletion>();
    var countRuled = countRuleReasons(rules, newestFirst);
    for (var c : newestFirst) {
      var reasons = new ArrayList<String>();
      if (c.pinned()) {
        reasons.add("pinned");
      }
      if (protectedSteps.contains(c.step())) {
        reasons.add("protected");
      }
      if (rules.keep() == null) {
        reasons.add("keep unset");
      } else {
        reasons.addAll(countRuled.getOrDefault(c.step(), List.of()));
      }
      if (reasons.isEmpty()) {
        deletions.add(
            new Deletion(c.step(), "beyond keep " + rules.keep() + describeExtras(rules)));
      } else {
        kept.put(c.step(), reasons);
      }
    }
    var quota = new Quota(QuotaState.NONE, null);
    if (rules.maxBytes() != null) {
      quota = applyQuota(rules.maxBytes(), newestFirst, protectedSteps, kept, deletions);
    }
    deletions.sort(Comparator.comparingInt((Deletion d) -> indexOf(newestFirst, d.step())));
    return new RetentionDecision(
        List.copyOf(deletions), new TreeMap<>(kept), bytesOf(newestFirst, kept.keySet()), quota);
  }

  /** For each step, the count rules that keep it. */
  private static Map<Long, List<String>> countRuleReasons(
      RetentionRules rules, List<StoredCheckpoint> newestFirst) {
    var reasons = new TreeMap<Long, List<String>>();
    if (rules.keep() == null) {
      return reasons;
    }
    newestFirst.stream()
        .filter(c -> !c.pinned())
        .limit(rules.keep())
        .forEach(c -> add(reasons, c.step(), "newest " + rules.keep()));
    if (rules.keepEvery() != null) {
      newestFirst.stream()
          .filter(c -> c.step() % rules.keepEvery() == 0)
          .forEach(c -> add(reasons, c.step(), "every " + rules.keepEvery()));
    }
    var best = rules.keepBest();
    if (best != null) {
      var metric = best.getMetric();
      Comparator<StoredCheckpoint> byValue =
          Comparator.comparingDouble(c -> c.metrics().value(metric));
      if (best.effectiveOrder() == MetricOrder.max) {
        byValue = byValue.reversed();
      }
      newestFirst.stream()
          .filter(c -> c.metrics() != null && c.metrics().value(metric) != null)
          .filter(c -> !c.metrics().value(metric).isNaN())
          .sorted(byValue.thenComparing(NEWEST_FIRST))
          .limit(best.getCount())
          .forEach(c -> add(reasons, c.step(), "best " + best.getCount() + " by " + metric));
    }
    return reasons;
  }

  private static Quota applyQuota(
      long maxBytes,
      List<StoredCheckpoint> newestFirst,
      Set<Long> protectedSteps,
      Map<Long, List<String>> kept,
      List<Deletion> deletions) {
    var total = bytesOf(newestFirst, kept.keySet());
    var newest = newestFirst.isEmpty() ? null : newestFirst.get(0).step();
    for (var i = newestFirst.size() - 1; i >= 0 && total > maxBytes; i--) {
      var c = newestFirst.get(i);
      var deletable =
          kept.containsKey(c.step())
              && !c.pinned()
              && !protectedSteps.contains(c.step())
              && !Objects.equals(c.step(), newest);
      if (deletable) {
        kept.remove(c.step());
        deletions.add(new Deletion(c.step(), "over maxBytes " + maxBytes));
        total -= size(c);
      }
    }
    if (total <= maxBytes) {
      return new Quota(
          QuotaState.WITHIN, "%d of %d bytes used by checkpoints".formatted(total, maxBytes));
    }
    return new Quota(
        QuotaState.EXCEEDED_BY_PROTECTED,
        ("protected checkpoints alone take %d bytes, over maxBytes %d: steps %s (pinned, the"
                + " newest, the resume point or another run's spec.init source) cannot be deleted")
            .formatted(total, maxBytes, kept.keySet().stream().sorted().toList()));
  }

  private static String describeExtras(RetentionRules rules) {
    var extras = new StringBuilder();
    if (rules.keepEvery() != null) {
      extras.append(", not a multiple of ").append(rules.keepEvery());
    }
    if (rules.keepBest() != null) {
      extras
          .append(", not among the best ")
          .append(rules.keepBest().getCount())
          .append(" by ")
          .append(rules.keepBest().getMetric());
    }
    return extras.toString();
  }

  private static void add(Map<Long, List<String>> reasons, long step, String reason) {
    reasons.computeIfAbsent(step, s -> new ArrayList<>()).add(reason);
  }

  private static long bytesOf(List<StoredCheckpoint> all, Set<Long> steps) {
    return all.stream().filter(c -> steps.contains(c.step())).mapToLong(Retention::size).sum();
  }

  private static long size(StoredCheckpoint c) {
    return c.sizeBytes() == null ? 0 : c.sizeBytes();
  }

  private static int indexOf(List<StoredCheckpoint> newestFirst, long step) {
    for (var i = 0; i < newestFirst.size(); i++) {
      if (newestFirst.get(i).step() == step) {
        return i;
      }
    }
    return -1;
  }
}
