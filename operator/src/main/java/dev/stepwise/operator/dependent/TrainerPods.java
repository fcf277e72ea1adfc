package dev.stepwise.operator.dependent;

import dev.stepwise.api.Constants;
import dev.stepwise.api.ObservedPod;
import dev.stepwise.api.TrainingRun;
import dev.stepwise.operator.Labels;
import dev.stepwise.operator.Roles;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.jboss.logging.Logger;

/** The run's trainer and orchestrator pods, as observed for restarts and for rollouts. */
public final class TrainerPods {

  private static final Logger LOG = Logger.getLogger(TrainerPods.class);

  private static final Set<String> COUNTED = Set.of(Roles.TRAINER.id(), Roles.ORCHESTRATOR.id());

  private TrainerPods() {}

  /** Trainer and orchestrator pods (not being deleted), with their restart counts. */
  public static List<ObservedPod> observed(Collection<Pod> pods) {
    return pods.stream()
        .filter(p -> p.getMetadata().getDeletionTimestamp() == null)
        .filter(p -> COUNTED.contains(p.getMetadata().getLabels().get(Labels.COMPONENT)))
        .map(
            p -> {
              var labels = p.getMetadata().getLabels();
              var revision =
                  labels.getOrDefault(
                      Labels.CONTROLLER_REVISION, labels.get(Labels.POD_TEMPLATE_HASH));
              var restarts =
                  p.getStatus() == null || p.getStatus().getContainerStatuses() == null
                      ? 0
                      : p.getStatus().getContainerStatuses().stream()
                          .map(ContainerStatus::getRestartCount)
                          .mapToInt(n -> n == null ? 0 : n)
                          .sum();
              return new ObservedPod(
                  p.getMetadata().getName(),
                  p.getMetadata().getUid(),
                  labels.get(Labels.COMPONENT),
                  revision,
                  restarts);
            })
        .toList();
  }

  /**
   * The StatefulSet's update revision once its controller has seen its latest spec (status
   * observedGeneration = generation); empty before. Until then the revision in the status is the
   * previous template's, and a pod the controller just made from the new template would look
   * outdated: deleting it would restart the trainer once more, and count as a recovery.
   */
  static Optional<String> settledRevision(Optional<StatefulSet> sts) {
    return sts.filter(
            s -> {
              var generation = s.getMetadata().getGeneration();
              var observed = s.getStatus() == null ? null : s.getStatus().getObservedGeneration();
              return s.getStatus() != null
                  && (generation == null || (observed != null && observed >= generation));
            })
        .map(s -> s.getStatus().getUpdateRevision());
  }

  /** UIDs of the pods whose containers all last exited with status 0 (a finished run). */
  public static Set<String> cleanExits(Collection<Pod> pods) {
    return pods.stream()
        .filter(p -> p.getStatus() != null && p.getStatus().getContainerStatuses() != null)
        .filter(
            p ->
                !p.getStatus().getContainerStatuses().isEmpty()
                    && p.getStatus().getContainerStatuses().stream()
                        .allMatch(
                            c ->
                                c.getLastState() != null
                                    && c.getLastState().getTerminated() != null
                                    && Integer.valueOf(0)
                                        .equals(c.getLastState().getTerminated().getExitCode())))
        .map(p -> p.getMetadata().getUid())
        .collect(Collectors.toSet());
  }

  /**
   * Deletes the trainer pods whose template revision is not the StatefulSet's current one: all
   * ranks restart together (a rolling update, one rank at a time, would leave the new ranks waiting
   * for old ones that never join them).
   */
  public static void deleteOutdated(TrainingRun run, Context<TrainingRun> context) {
    var current = settledRevision(context.getSecondaryResource(StatefulSet.class)).orElse(null);
    if (current == null) {
      return;
    }
    for (var pod : context.getSecondaryResources(Pod.class)) {
      var labels = pod.getMetadata().getLabels();
      var revision = labels.get(Labels.CONTROLLER_REVISION);
      if (Roles.TRAINER.id().equals(labels.get(Labels.COMPONENT))
          && run.getMetadata().getName().equals(labels.get(Constants.LABEL_TRAINING_RUN))
          && pod.getMetadata().getDeletionTimestamp() == null
          && revision != null
          && !revision.equals(current)) {
        LOG.infof(
            "TrainingRun %s/%s: restarting trainer pod %s with the new template",
            run.getMetadata().getNamespace(),
            run.getMetadata().getName(),
            pod.getMetadata().getName());
        context.getClient().resource(pod).delete();
      }
    }
  }
}
