package dev.stepwise.api;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/**
 * Schema-only twin of Fabric8's {@code Condition}, with the same shape plus descriptions for {@code
 * kubectl explain}. The status keeps the Fabric8 type in Java and points its schema here with
 * {@code @SchemaFrom}; nothing instantiates this class.
 */
final class ConditionSchema {

  @JsonPropertyDescription("Condition type: Ready, Progressing or Degraded.")
  public String type;

  @JsonPropertyDescription("Whether the condition holds: True, False or Unknown.")
  public String status;

  @JsonPropertyDescription(
      "Why the condition last changed, as one CamelCase word that scripts can match on.")
  public String reason;

  @JsonPropertyDescription(
      "Details for people; for Degraded it starts with the spec field that cannot be reconciled.")
  public String message;

  @JsonPropertyDescription("When status last changed, in RFC 3339 (e.g. 2025-01-31T12:00:00Z).")
  public String lastTransitionTime;

  @JsonPropertyDescription("metadata.generation of the spec the condition was computed from.")
  public Long observedGeneration;

  private ConditionSchema() {}
}
