package dev.stepwise.operator.e2e;

import dev.stepwise.operator.e2e.LocalPod.State;
import dev.stepwise.operator.e2e.Workloads.Workload;
import io.fabric8.kubernetes.api.model.ContainerStateBuilder;
import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.PodConditionBuilder;
import io.fabric8.kubernetes.api.model.PodStatus;
import io.fabric8.kubernetes.api.model.PodStatusBuilder;
import io.fabric8.kubernetes.api.model.apps.DeploymentStatus;
import io.fabric8.kubernetes.api.model.apps.DeploymentStatusBuilder;
import io.fabric8.kubernetes.api.model.apps.StatefulSetStatus;
import io.fabric8.kubernetes.api.model.apps.StatefulSetStatusBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.JobConditionBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.JobStatus;
import io.fabric8.kubernetes.api.model.batch.v1.JobStatusBuilder;
import java.util.List;

/** The status the kubelet and the workload controllers would report, from the local pods. */
final class PodStatuses {

  private PodStatuses() {}

  /** The Pod status a kubelet would report for {@code pod} now. */
  static PodStatus pod(LocalPod pod) {
    var s = pod.snapshot();
    var container = pod.owner.template().getSpec().getContainers().get(0);
    var state = new ContainerStateBuilder();
    switch (s.state()) {
      case RUNNING -> state.withNewRunning().withStartedAt(s.startedAt().toString()).endRunning();
      case TERMINATED ->
          state
              .withNewTerminated()
              .withExitCode(s.lastExitCode())
              .withReason(s.lastExitCode() == 0 ? "Completed" : "Error")
              .withStartedAt(s.startedAt() == null ? null : s.startedAt().toString())
              .withFinishedAt(s.finishedAt() == null ? null : s.finishedAt().toString())
              .endTerminated();
      case WAITING ->
          state
              .withNewWaiting()
              .withReason(s.waitingReason())
              .withMessage(s.waitingMessage())
              .endWaiting();
    }
    var containerStatus =
        new ContainerStatusBuilder()
            .withName(container.getName())
            .withImage(container.getImage())
            .withImageID(container.getImage())
            .withContainerID(s.pid() < 0 ? null : "local://" + s.pid())
            .withReady(s.ready())
            .withStarted(s.state() == State.RUNNING)
            .withRestartCount(s.restartCount())
            .withState(state.build());
    if (s.lastExitCode() != null && s.state() != State.TERMINATED) {
      containerStatus
          .withNewLastState()
          .withNewTerminated()
          .withExitCode(s.lastExitCode())
          .withReason(s.lastExitCode() == 0 ? "Completed" : "Error")
          .withFinishedAt(s.finishedAt() == null ? null : s.finishedAt().toString())
          .endTerminated()
          .endLastState();
    }
    var phase =
        switch (s.state()) {
          case RUNNING -> "Running";
          case TERMINATED -> s.lastExitCode() == 0 ? "Succeeded" : "Failed";
          case WAITING -> s.restartCount() > 0 || s.lastExitCode() != null ? "Running" : "Pending";
        };
    var ready = s.ready() ? "True" : "False";
    return new PodStatusBuilder()
        .withPhase(phase)
        .withPodIP(LocalNetwork.LOOPBACK)
        .withHostIP(LocalNetwork.LOOPBACK)
        .withStartTime(pod.created.toString())
        .withConditions(
            new PodConditionBuilder().withType("PodScheduled").withStatus("True").build(),
            new PodConditionBuilder().withType("Initialized").withStatus("True").build(),
            new PodConditionBuilder().withType("ContainersReady").withStatus(ready).build(),
            new PodConditionBuilder().withType("Ready").withStatus(ready).build())
        .withContainerStatuses(containerStatus.build())
        .build();
  }

  static StatefulSetStatus statefulSet(Workload w, List<LocalPod> pods) {
    var current = current(w, pods);
    var ready = ready(pods);
    return new StatefulSetStatusBuilder()
        .withObservedGeneration(w.generation())
        .withReplicas(pods.size())
        .withReadyReplicas(ready)
        .withAvailableReplicas(ready)
        .withCurrentReplicas(current)
        .withUpdatedReplicas(current)
        .build();
  }

  static DeploymentStatus deployment(Workload w, List<LocalPod> pods) {
    var ready = ready(pods);
    return new DeploymentStatusBuilder()
        .withObservedGeneration(w.generation())
        .withReplicas(pods.size())
        .withReadyReplicas(ready)
        .withAvailableReplicas(ready)
        .withUpdatedReplicas(current(w, pods))
        .withUnavailableReplicas(Math.max(0, w.replicas() - ready))
        .build();
  }

  /** A Job of one completion: Complete when a pod exited 0, Failed beyond its backoffLimit. */
  static JobStatus job(Workload w, List<LocalPod> pods, int failures) {
    var succeeded =
        pods.stream()
            .anyMatch(
                p ->
                    p.state() == State.TERMINATED
                        && Integer.valueOf(0).equals(p.snapshot().lastExitCode()));
    var failed = !succeeded && failures > w.backoffLimit();
    var active = (int) pods.stream().filter(p -> p.state() != State.TERMINATED).count();
    var status =
        new JobStatusBuilder()
            .withActive(active)
            .withSucceeded(succeeded ? 1 : 0)
            .withFailed(failures);
    if (succeeded || failed) {
      status.withConditions(
          new JobConditionBuilder()
              .withType(succeeded ? "Complete" : "Failed")
              .withStatus("True")
              .withReason(succeeded ? "Completed" : "BackoffLimitExceeded")
              .build());
    }
    return status.build();
  }

  private static int ready(List<LocalPod> pods) {
    return (int) pods.stream().filter(p -> p.snapshot().ready()).count();
  }

  private static int current(Workload w, List<LocalPod> pods) {
    return (int) pods.stream().filter(p -> p.templateHash.equals(w.templateHash())).count();
  }
}
