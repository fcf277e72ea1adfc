package dev.stepwise.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.crd.generator.annotation.SchemaFrom;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Min;
import io.fabric8.kubernetes.api.model.ResourceRequirements;

/** The RL inference role: stateless servers behind one Service; a resume leaves them running. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class InferenceSpec {

  @JsonPropertyDescription("Number of inference server pods behind the inference Service.")
  @Min(1)
  @Default("1")
  private Integer replicas = 1;

  @JsonPropertyDescription(
      "GPUs per inference pod, requested as the nvidia.com/gpu limit; 0 for none.")
  @Min(0)
  @Default("1")
  private Integer gpus = 1;

  @JsonPropertyDescription("CPU and memory requests and limits of the inference container.")
  @SchemaFrom(type = ResourceRequirementsSchema.class)
  private ResourceRequirements resources;

  @JsonPropertyDescription(
      "Inference server configuration in TOML (model, sampling limits, ...), mounted as"
          + " /etc/stepwise/inference.toml.")
  private String config;

  public Integer getReplicas() {
    return replicas;
  }

  public void setReplicas(Integer replicas) {
    this.replicas = replicas;
  }

  public Integer getGpus() {
    return gpus;
  }

  public void setGpus(Integer gpus) {
    this.gpus = gpus;
  }

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
