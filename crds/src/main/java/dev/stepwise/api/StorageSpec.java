package dev.stepwise.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Pattern;

/** Where the run directory lives: a claim the operator creates, or one the user already has. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class StorageSpec {

  public static final String DEFAULT_SIZE = "10Gi";

  @JsonPropertyDescription(
      "Size of the run directory volume the operator creates (a Kubernetes quantity such as 10Gi)."
          + " Ignored when existingClaim is set.")
  @Default(DEFAULT_SIZE)
  @Pattern("^[0-9]+(\\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$")
  private String size = DEFAULT_SIZE;

  @JsonPropertyDescription(
      "Storage class of the run directory volume; the cluster default when unset. Ignored when"
          + " existingClaim is set.")
  private String storageClassName;

  @JsonPropertyDescription(
      "Access mode of the run directory volume. Every pod of the run mounts it, so use"
          + " ReadWriteMany when they may land on different nodes. Ignored when existingClaim is set.")
  @Default("ReadWriteOnce")
  private StorageAccessMode accessMode = StorageAccessMode.ReadWriteOnce;

  @JsonPropertyDescription(
      "Name of an existing PersistentVolumeClaim in the run's namespace to use as the run"
          + " directory. When set, the operator creates no claim and never deletes this one.")
  @Pattern("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
  private String existingClaim;

  public String getSize() {
    return size;
  }

  public void setSize(String size) {
    this.size = size;
  }

  public String getStorageClassName() {
    return storageClassName;
  }

  public void setStorageClassName(String storageClassName) {
    this.storageClassName = storageClassName;
  }

  public StorageAccessMode getAccessMode() {
    return accessMode;
  }

  public void setAccessMode(StorageAccessMode accessMode) {
    this.accessMode = accessMode;
  }

  public String getExistingClaim() {
    return existingClaim;
  }

  public void setExistingClaim(String existingClaim) {
    this.existingClaim = existingClaim;
  }
}
