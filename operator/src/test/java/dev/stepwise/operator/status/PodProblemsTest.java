package dev.stepwise.operator.status;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import java.util.List;
import org.junit.jupiter.api.Test;

class PodProblemsTest {

  private static Pod waiting(String name, String reason, String message) {
    return new PodBuilder()
        .withNewMetadata()
        .withName(name)
        .endMetadata()
        .withNewStatus()
        .addNewContainerStatus()
        .withName("trainer")
        .withNewState()
        .withNewWaiting(message, reason)
        .endState()
        .withNewLastState()
        .withNewTerminated()
        .withExitCode(3)
        .endTerminated()
        .endLastState()
        .endContainerStatus()
        .endStatus()
        .build();
  }

  @Test
  void podsThatCannotStartOrKeepCrashingAreNamedWithTheirReason() {
    var pods =
        List.of(
            waiting("r-trainer-1", "CrashLoopBackOff", "back-off 20s restarting"),
            waiting("r-trainer-0", "ErrImagePull", "image x has no local stand-in\nmore"),
            waiting("r-orchestrator-x", "ContainerCreating", "configmap not found yet"));
    assertEquals(
        List.of(
            "pod r-trainer-0: ErrImagePull: image x has no local stand-in",
            "pod r-trainer-1: CrashLoopBackOff (last exit code 3)"),
        PodProblems.of(pods));
  }

  @Test
  void runningAndStartingPodsAreNoProblem() {
    var running =
        new PodBuilder()
            .withNewMetadata()
            .withName("r-trainer-0")
            .endMetadata()
            .withNewStatus()
            .addNewContainerStatus()
            .withName("trainer")
            .withNewState()
            .withNewRunning()
            .endRunning()
            .endState()
            .endContainerStatus()
            .endStatus()
            .build();
    assertEquals(
        List.of(),
        PodProblems.of(
            List.of(
                running,
                new PodBuilder().withNewMetadata().withName("new").endMetadata().build())));
  }
}
