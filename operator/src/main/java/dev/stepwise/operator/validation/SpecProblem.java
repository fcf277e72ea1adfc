package dev.stepwise.operator.validation;

/**
 * Why a spec cannot be reconciled: the field at fault, a CamelCase reason, a message for humans.
 */
public record SpecProblem(String field, String reason, String detail) {

  /** The message shown in the Degraded condition and the event: it starts with the field. */
  public String message() {
    return field + ": " + detail;
  }
}
