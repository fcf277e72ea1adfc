package dev.stepwise.api;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.kubernetes.api.model.Quantity;
import java.util.List;
import java.util.Map;

/**
 * Schema-only twin of Fabric8's {@code ResourceRequirements}, with the same shape plus descriptions
 * for {@code kubectl explain}. Role specs keep the Fabric8 type in Java and point their schema here
 * with {@code @SchemaFrom}; nothing instantiates this class.
 */
final class ResourceRequirementsSchema {

  @JsonPropertyDescription(
      "Upper bounds by resource name (cpu, memory, ephemeral-storage, ...), as quantities such as"
          + " 500m or 8Gi. The container is throttled (cpu) or killed (memory) above them.")
  public Map<String, Quantity> limits;

  @JsonPropertyDescription(
      "Amounts the scheduler reserves for the container, by resource name (cpu, memory, ...)."
          + " Each defaults to its limit when only the limit is set, and may not exceed it.")
  public Map<String, Quantity> requests;

  @JsonPropertyDescription(
      "Dynamic resource claims of the pod that this container uses. Stepwise declares no pod"
          + " resource claims, so Kubernetes rejects the role's workload if this is set.")
  public List<Claim> claims;

  private ResourceRequirementsSchema() {}

  /** One entry of {@code claims}. */
  static final class Claim {

    @JsonPropertyDescription("Name of an entry of the pod's spec.resourceClaims.")
    public String name;

    @JsonPropertyDescription(
        "One request of that claim to expose to the container; unset for the whole claim.")
    public String request;

    private Claim() {}
  }
}
