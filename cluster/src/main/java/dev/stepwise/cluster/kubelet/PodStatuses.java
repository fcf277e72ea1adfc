package dev.stepwise.cluster.kubelet;

import dev.stepwise.cluster.kubelet.LocalPod.State;
import io.fabric8.kubernetes.api.model.ContainerStateBuilder;
import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.api.model.PodConditionBuilder;
import io.fabric8.kubernetes.api.model.PodIPBuilder;
import io.fabric8.kubernetes.api.model.PodStatus;
import io.fabric8.kubernetes.api.model.PodStatusBuilder;

/** The Pod status a kubelet reports, from the local pod. */
final class PodStatuses {

  private PodStatuses() {}

  /** The Pod status a kubelet would report for {@code pod} now. */
  static PodStatus pod(LocalPod pod) {
    var s = pod.snapshot();
    var container = pod.container();
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
    var created = pod.created.toString();
    var readySince = s.readySince().toString();
    return new PodStatusBuilder()
        .withPhase(phase)
        .withPodIP(pod.podIp)
        .withPodIPs(new PodIPBuilder().withIp(pod.podIp).build())
        .withHostIP(LocalNetwork.LOOPBACK)
        .withStartTime(pod.created.toString())
        .withConditions(
            condition("PodScheduled", "True", created),
            condition("Initialized", "True", created),
            condition("ContainersReady", ready, readySince),
            condition("Ready", ready, readySince))
        .withContainerStatuses(containerStatus.build())
        .build();
  }

  private static PodCondition condition(String type, String status, String since) {
    return new PodConditionBuilder()
        .withType(type)
        .withStatus(status)
        .withLastTransitionTime(since)
        .build();
  }
}
