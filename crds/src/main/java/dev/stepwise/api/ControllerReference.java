package dev.stepwise.api;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;

/**
 * The owner reference that makes {@code owner} the controller of an object, as Kubernetes' own
 * controllers write it: garbage collection deletes the object with its owner, and at most one
 * controller claims it.
 */
public final class ControllerReference {

  private ControllerReference() {}

  /**
   * @param blockOwnerDeletion whether a foreground deletion of the owner waits for this object
   */
  public static OwnerReference of(HasMetadata owner, boolean blockOwnerDeletion) {
    return new OwnerReferenceBuilder()
        .withApiVersion(owner.getApiVersion())
        .withKind(owner.getKind())
        .withName(owner.getMetadata().getName())
        .withUid(owner.getMetadata().getUid())
        .withController(true)
        .withBlockOwnerDeletion(blockOwnerDeletion)
        .build();
  }
}
