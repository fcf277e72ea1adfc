package dev.stepwise.operator.status;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/** Standard Kubernetes conditions: set one, keeping its transition time when its status holds. */
public final class Conditions {

  public static final String READY = "Ready";
  public static final String PROGRESSING = "Progressing";
  public static final String DEGRADED = "Degraded";

  /** Present when spec.ckpt.maxBytes is set: whether the run's checkpoints fit in it. */
  public static final String CHECKPOINT_QUOTA = "CheckpointQuota";

  private Conditions() {}

  public static Optional<Condition> find(List<Condition> conditions, String type) {
    return conditions == null
        ? Optional.empty()
        : conditions.stream().filter(c -> type.equals(c.getType())).findFirst();
  }

  public static boolean isTrue(List<Condition> conditions, String type) {
    return find(conditions, type).map(c -> "True".equals(c.getStatus())).orElse(false);
  }

  /**
   * {@code previous} with the condition {@code type} set, as a new list: it takes the old one's
   * place, or is appended. Its lastTransitionTime is kept while its status stays the same.
   */
  public static List<Condition> set(
      List<Condition> previous,
      String type,
      boolean status,
      ConditionReason reason,
      String message,
      Long generation,
      String now) {
    var old = find(previous, type);
    var statusText = status ? "True" : "False";
    var transition =
        old.filter(c -> Objects.equals(c.getStatus(), statusText))
            .map(Condition::getLastTransitionTime)
            .orElse(now);
    var condition =
        new ConditionBuilder()
            .withType(type)
            .withStatus(statusText)
            .withReason(reason.name())
            .withMessage(message)
            .withObservedGeneration(generation)
            .withLastTransitionTime(transition)
            .build();
    var next = new ArrayList<Condition>();
    var replaced = false;
    for (var c : previous == null ? List.<Condition>of() : previous) {
      if (type.equals(c.getType())) {
        next.add(condition);
        replaced = true;
      } else {
        next.add(c);
      }
    }
    if (!replaced) {
      next.add(condition);
    }
    return next;
  }

  /** {@code previous} without the condition {@code type}, as a new list. */
  public static List<Condition> remove(List<Condition> previous, String type) {
    return previous == null
        ? new ArrayList<>()
        : new ArrayList<>(previous.stream().filter(c -> !type.equals(c.getType())).toList());
  }
}
