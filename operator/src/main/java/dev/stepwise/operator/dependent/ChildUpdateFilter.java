package dev.stepwise.operator.dependent;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.javaoperatorsdk.operator.processing.event.source.filter.OnUpdateFilter;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Which updates of a run's child reconcile the run: a change outside its status (someone edited
 * what the operator keeps as desired, its labels or owners), or the status the run reads of its
 * children: a workload's ready replicas ({@link dev.stepwise.operator.status.Workload}) and the
 * trainer StatefulSet's update revision ({@link TrainerPods#deleteOutdated}). The other status
 * writes of the controllers (a Deployment's conditions, observedGeneration, replica counters)
 * otherwise reconciled every run about three more times for nothing.
 */
public class ChildUpdateFilter implements OnUpdateFilter<HasMetadata> {

  private static final ObjectMapper JSON = new ObjectMapper();

  @Override
  public boolean accept(HasMetadata updated, HasMetadata previous) {
    return !Objects.equals(readStatus(updated), readStatus(previous))
        || !withoutStatus(updated).equals(withoutStatus(previous));
  }

  /** The status fields of {@code child} that the operator reads. */
  private static List<Object> readStatus(HasMetadata child) {
    if (child instanceof StatefulSet set && set.getStatus() != null) {
      return Arrays.asList(set.getStatus().getReadyReplicas(), set.getStatus().getUpdateRevision());
    }
    if (child instanceof Deployment deployment && deployment.getStatus() != null) {
      return Arrays.asList(deployment.getStatus().getReadyReplicas());
    }
    return List.of();
  }

  private static ObjectNode withoutStatus(HasMetadata child) {
    ObjectNode tree = JSON.valueToTree(child);
    tree.remove("status");
    if (tree.get("metadata") instanceof ObjectNode metadata) {
      metadata.remove("resourceVersion");
      metadata.remove("managedFields");
    }
    return tree;
  }
}
