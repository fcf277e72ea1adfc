package dev.stepwise.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.crd.generator.annotation.SchemaFrom;
import io.fabric8.kubernetes.api.model.ResourceRequirements;

/** The RL orchestrator role: one pod that turns inference rollouts into training batches. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class OrchestratorSpec {

  @JsonPropertyDescription("CPU and memory requests and limits of the orchestrator container.")
  @SchemaFrom(type = ResourceRequirementsSchema.class)
  private ResourceRequirements resources;

  @JsonPropertyDescription(
      "Orchestrator configuration in TOML (environment, sampling, batch sizes, ...), mounted as"
          + " /etc/stepwise/orchestrator.toml. maxSteps and ckpt of this spec override it.")
  private String config;

  public ResourceRequirements getResources() {
    return resources;
  }

  public void setResources(ResourceRequirements resources) {
    this.resources = resources;
  }

  public String getConfig() {
    return config;
  }

  public void setConfig(String config) {
    this.config = config;
  }
}
