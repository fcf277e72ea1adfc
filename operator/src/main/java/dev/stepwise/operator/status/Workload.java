package dev.stepwise.operator.status;

import dev.stepwise.api.RunType;
import dev.stepwise.api.TrainingRun;
import dev.stepwise.operator.Roles;
import dev.stepwise.operator.dependent.InferenceDeploymentDependent;
import dev.stepwise.operator.dependent.OrchestratorDeploymentDependent;
import dev.stepwise.operator.dependent.RunDependent;
import dev.stepwise.operator.dependent.TrainerStatefulSetDependent;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/** One workload of a run as observed: how many pods it should have and how many are ready. */
public record Workload(String role, int desired, int ready) {

  /** Ready pods against wanted pods of each workload of {@code run}, from the informer caches. */
  public static List<Workload> observe(TrainingRun run, Context<TrainingRun> context) {
    var stopped = RunDependent.trainingStopped(run);
    var workloads = new ArrayList<Workload>();
    var trainerReady =
        context
            .getSecondaryResource(StatefulSet.class)
            .map(s -> s.getStatus() == null ? null : s.getStatus().getReadyReplicas())
            .orElse(0);
    workloads.add(
        new Workload(
            Roles.TRAINER.id(),
            stopped ? 0 : TrainerStatefulSetDependent.worldSize(run),
            trainerReady));
    if (run.getSpec().getType() == RunType.RL) {
      var deployments = context.getSecondaryResources(Deployment.class);
      workloads.add(
          new Workload(
              Roles.ORCHESTRATOR.id(),
              stopped ? 0 : 1,
              ready(deployments, OrchestratorDeploymentDependent.name(run))));
      workloads.add(
          new Workload(
              Roles.INFERENCE.id(),
              run.getSpec().isSuspended() ? 0 : InferenceDeploymentDependent.replicas(run),
              ready(deployments, InferenceDeploymentDependent.name(run))));
    }
    return workloads;
  }

  private static int ready(Iterable<Deployment> deployments, String name) {
    for (var d : deployments) {
      if (name.equals(d.getMetadata().getName())) {
        return d.getStatus() == null
            ? 0
            : Objects.requireNonNullElse(d.getStatus().getReadyReplicas(), 0);
      }
    }
    return 0;
  }

  public boolean isReady() {
    return ready >= desired;
  }

  @Override
  public String toString() {
    return role + " " + ready + "/" + desired;
  }
}
