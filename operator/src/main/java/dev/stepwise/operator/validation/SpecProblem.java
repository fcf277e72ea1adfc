package dev.stepwise.operator.validation;

import dev.stepwise.operator.status.ConditionReason;

/**
 * Why a spec cannot be reconciled: the field at fault, a CamelCase reason, a message for humans.
 */
public record SpecProblem(String field, ConditionReason reason, String detail) {

  /** The message shown in the Degraded condition and the event: it starts with the field. */
  public String message() {
    return field + ": " + detail;
  }
}
