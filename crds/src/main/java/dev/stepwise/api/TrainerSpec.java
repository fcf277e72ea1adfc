package dev.stepwise.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.crd.generator.annotation.SchemaFrom;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Min;
import io.fabric8.kubernetes.api.model.ResourceRequirements;

/** The trainer role: a StatefulSet with one pod per rank. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class TrainerSpec {

  @JsonPropertyDescription(
      "Number of trainer ranks (pods). Sets WORLD_SIZE; each pod's ordinal is its RANK.")
  @Min(1)
  @Default("1")
  private Integer replicas = 1;

  @JsonPropertyDescription(
      "GPUs per trainer pod, requested as the nvidia.com/gpu limit; 0 for none.")
  @Min(0)
  @Default("1")
  private Integer gpus = 1;

  @JsonPropertyDescription(
      "CPU and memory requests and limits of the trainer container. nvidia.com/gpu comes from"
          + " gpus.")
  @SchemaFrom(type = ResourceRequirementsSchema.class)
  private ResourceRequirements resources;

  @JsonPropertyDescription(
      "Trainer configuration in TOML (model, data, optimizer, ...), mounted as"
          + " /etc/stepwise/trainer.toml. maxSteps and ckpt of this spec override it.")
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
