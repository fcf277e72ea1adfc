package dev.stepwise.operator.dependent;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.javaoperatorsdk.operator.processing.event.source.filter.OnUpdateFilter;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * Which updates of a run's child reconcile the run: a change outside its status (someone edited
 * what the operator keeps as desired, its labels or owners), or the status the run reads of its
 * children: a workload's ready replicas ({@link dev.stepwise.operator.status.Workload}) and the
 * trainer StatefulSet's update revision once it changes ({@link TrainerPods#deleteOutdated}; its
 * first value, set as the StatefulSet is created, outdates no pod). The other status writes of the
 * controllers (a Deployment's conditions, observedGeneration, replica counters), the revision
 * annotation the Deployment controller writes into a new Deployment, and what the volume binder
 * writes into a claim (its volume's name, its pv.kubernetes.io annotations) would otherwise
 * reconcile every run several more times for nothing.
 */
public class ChildUpdateFilter implements OnUpdateFilter<HasMetadata> {

  private static final ObjectMapper JSON = new ObjectMapper();

  @Override
  public boolean accept(HasMetadata updated, HasMetadata previous) {
    return readStatusChanged(updated, previous)
        || !withoutStatus(updated).equals(withoutStatus(previous));
  }

  /**
   * Whether the status the operator reads changed: ready replicas, and the trainer's revision once
   * its controller has seen the StatefulSet's latest spec ({@link TrainerPods#settledRevision}),
   * but not its first one.
   */
  private static boolean readStatusChanged(HasMetadata updated, HasMetadata previous) {
    if (!Objects.equals(readyReplicas(updated), readyReplicas(previous))) {
      return true;
    }
    if (updated instanceof StatefulSet after && previous instanceof StatefulSet before) {
      var first = before.getStatus() == null || before.getStatus().getUpdateRevision() == null;
      return !first
          && !Objects.equals(
              TrainerPods.settledRevision(Optional.of(after)),
              TrainerPods.settledRevision(Optional.of(before)));
    }
    return false;
  }

  /** A workload's ready replicas; null for other kinds or before its controller counted them. */
  private static Integer readyReplicas(HasMetadata child) {
    if (child instanceof StatefulSet set && set.getStatus() != null) {
      return set.getStatus().getReadyReplicas();
    }
    if (child instanceof Deployment deployment && deployment.getStatus() != null) {
      return deployment.getStatus().getReadyReplicas();
    }
    return null;
  }

  /** {@code child} as a JSON tree without its status and what the API server and binder add. */
  private static ObjectNode withoutStatus(HasMetadata child) {
    ObjectNode tree = JSON.valueToTree(child);
    tree.remove("status");
    if (tree.get("metadata") instanceof ObjectNode metadata) {
      metadata.remove("resourceVersion");
      metadata.remove("managedFields");
    }
    if (child instanceof PersistentVolumeClaim) {
      withoutBinding(tree);
    }
    if (child instanceof Deployment) {
      withoutAnnotations(tree, key -> key.startsWith("deployment.kubernetes.io/"));
    }
    return tree;
  }

  /** Drops what the volume binder writes into a claim: its volume's name, its annotations. */
  private static void withoutBinding(ObjectNode claim) {
    withoutAnnotations(claim, ChildUpdateFilter::isBinderAnnotation);
    if (claim.get("spec") instanceof ObjectNode spec) {
      spec.remove("volumeName");
    }
  }

  /** Drops the annotations a controller writes (the deployment controller's revision, ...). */
  private static void withoutAnnotations(ObjectNode child, Predicate<String> writtenByController) {
    if (child.get("metadata") instanceof ObjectNode metadata
        && metadata.get("annotations") instanceof ObjectNode annotations) {
      annotations.properties().removeIf(a -> writtenByController.test(a.getKey()));
      if (annotations.isEmpty()) {
        metadata.remove("annotations");
      }
    }
  }

  /** An annotation the volume binder or provisioner writes into a claim as it binds it. */
  private static boolean isBinderAnnotation(String key) {
    return key.startsWith("pv.kubernetes.io/")
        || key.startsWith("volume.kubernetes.io/")
        || key.startsWith("volume.beta.kubernetes.io/");
  }
}
