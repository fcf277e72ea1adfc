package dev.stepwise.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import java.util.Objects;

/** A trainer or orchestrator pod of a run as last observed, so its restarts are counted once. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ObservedPod {

  @JsonPropertyDescription("Pod name.")
  private String name;

  @JsonPropertyDescription("Pod UID: a new UID under the same name is a new pod.")
  private String uid;

  @JsonPropertyDescription(
      "Role of the pod (its app.kubernetes.io/component label): trainer or orchestrator.")
  private String component;

  @JsonPropertyDescription(
      "Template revision of the pod (controller-revision-hash or pod-template-hash): a pod"
          + " replaced by one of the same revision was lost, not rolled out.")
  private String revision;

  @JsonPropertyDescription("Sum of the restartCount of its containers, as last counted.")
  private Integer restarts;

  public ObservedPod() {}

  public ObservedPod(String name, String uid, String component, String revision, Integer restarts) {
    this.name = name;
    this.uid = uid;
    this.component = component;
    this.revision = revision;
    this.restarts = restarts;
  }

  public String getName() {
    return name;
  }

  public void setName(String name) {
    this.name = name;
  }

  public String getUid() {
    return uid;
  }

  public void setUid(String uid) {
    this.uid = uid;
  }

  public String getComponent() {
    return component;
  }

  public void setComponent(String component) {
    this.component = component;
  }

  public String getRevision() {
    return revision;
  }

  public void setRevision(String revision) {
    this.revision = revision;
  }

  public Integer getRestarts() {
    return restarts;
  }

  public void setRestarts(Integer restarts) {
    this.restarts = restarts;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ObservedPod p
        && Objects.equals(name, p.name)
        && Objects.equals(uid, p.uid)
        && Objects.equals(component, p.component)
        && Objects.equals(revision, p.revision)
        && Objects.equals(restarts, p.restarts);
  }

  @Override
  public int hashCode() {
    return Objects.hash(name, uid, component, revision, restarts);
  }
}
