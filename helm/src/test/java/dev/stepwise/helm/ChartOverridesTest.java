package dev.stepwise.helm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.Role;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** `helm template` with the values a user overrides most. */
class ChartOverridesTest {

  @Test
  void imageSchedulingResourcesAndEnvironmentFollowTheValues() {
    var chart = Chart.render("overrides.yaml");
    var pod = chart.one(Deployment.class, Chart.RELEASE).getSpec().getTemplate().getSpec();
    var operator = pod.getContainers().get(0);

    assertThat(operator.getImage())
        .isEqualTo("registry.example.com/ml/stepwise-operator:0.2.0-rc1");
    assertThat(operator.getImagePullPolicy()).isEqualTo("Always");
    assertThat(pod.getImagePullSecrets())
        .singleElement()
        .satisfies(s -> assertThat(s.getName()).isEqualTo("registry-credentials"));
    assertThat(operator.getResources().getRequests()).containsEntry("cpu", new Quantity("500m"));
    assertThat(operator.getResources().getLimits()).containsEntry("memory", new Quantity("1Gi"));
    assertThat(pod.getNodeSelector()).isEqualTo(Map.of("node-role.example.com/pool", "control"));
    assertThat(pod.getTolerations())
        .singleElement()
        .satisfies(t -> assertThat(t.getKey()).isEqualTo("dedicated"));
    assertThat(
            pod.getAffinity()
                .getNodeAffinity()
                .getRequiredDuringSchedulingIgnoredDuringExecution()
                .getNodeSelectorTerms()
                .get(0)
                .getMatchExpressions()
                .get(0)
                .getValues())
        .containsExactly("amd64");
    assertThat(operator.getEnv())
        .extracting(EnvVar::getName, EnvVar::getValue)
        .contains(
            tuple("QUARKUS_OPERATOR_SDK_CONCURRENT_RECONCILIATION_THREADS", "4"),
            tuple("QUARKUS_LOG_CATEGORY__DEV_STEPWISE__LEVEL", "DEBUG"),
            tuple("QUARKUS_LOG_LEVEL", "WARN"));
  }

  @Test
  void severalReplicasShareOneNamedLease() {
    var chart =
        Chart.render(
            Chart.values("replicaCount", 3, "leaderElection.leaseName", "training-operator"));
    var deployment = chart.one(Deployment.class, Chart.RELEASE);
    var leaseRole = chart.one(Role.class, "stepwise-leader-election");

    assertThat(deployment.getSpec().getReplicas()).isEqualTo(3);
    assertThat(deployment.getSpec().getTemplate().getSpec().getContainers().get(0).getEnv())
        .filteredOn(e -> e.getName().equals("STEPWISE_LEADER_ELECTION_LEASE_NAME"))
        .extracting(EnvVar::getValue)
        .containsExactly("training-operator");
    assertThat(leaseRole.getRules())
        .filteredOn(rule -> !rule.getResourceNames().isEmpty())
        .singleElement()
        .satisfies(
            rule -> assertThat(rule.getResourceNames()).containsExactly("training-operator"));
  }

  @Test
  void withoutLeaderElectionTheOnlyReplicaIsRecreatedAndNoLeaseIsGranted() {
    var chart = Chart.render(Chart.values("leaderElection.enabled", false));
    var deployment = chart.one(Deployment.class, Chart.RELEASE);

    assertThat(deployment.getSpec().getStrategy().getType()).isEqualTo("Recreate");
    assertThat(chart.all(Role.class)).isEmpty();
    assertThat(deployment.getSpec().getTemplate().getSpec().getContainers().get(0).getEnv())
        .extracting(EnvVar::getName, EnvVar::getValue)
        .contains(tuple("STEPWISE_LEADER_ELECTION_ENABLED", "false"));
  }

  @Test
  void existingServiceAccountAndExternallyManagedRbac() {
    var chart =
        Chart.render(
            Chart.values(
                "serviceAccount.create",
                false,
                "serviceAccount.name",
                "ml-platform-operator",
                "rbac.create",
                false));
    var pod = chart.one(Deployment.class, Chart.RELEASE).getSpec().getTemplate().getSpec();

    assertThat(pod.getServiceAccountName()).isEqualTo("ml-platform-operator");
    assertThat(chart.all(ServiceAccount.class)).isEmpty();
    assertThat(chart.all(ClusterRole.class)).isEmpty();
    assertThat(chart.all(Role.class)).isEmpty();
  }

  @Test
  void fullnameOverrideRenamesEveryObjectAndItsReferences() {
    var chart = Chart.render(Chart.values("fullnameOverride", "stepwise-ml"));
    var pod = chart.one(Deployment.class, "stepwise-ml").getSpec().getTemplate().getSpec();

    assertThat(pod.getServiceAccountName()).isEqualTo("stepwise-ml");
    assertThat(chart.one(ClusterRole.class, "stepwise-ml")).isNotNull();
    assertThat(chart.one(Role.class, "stepwise-ml-leader-election").getRules())
        .flatExtracting(rule -> rule.getResourceNames())
        .containsExactly("stepwise-ml-leader");
  }

  @Test
  void monitoringAddsAServiceMonitorAPodMonitorForRunsAndTheDashboard() throws Exception {
    var chart =
        Chart.render(
            Chart.values(
                "monitoring.serviceMonitor.enabled",
                true,
                "monitoring.serviceMonitor.labels.release",
                "prom",
                "monitoring.grafanaDashboard.enabled",
                true));
    var monitors =
        chart.all(GenericKubernetesResource.class).stream()
            .collect(Collectors.toMap(GenericKubernetesResource::getKind, r -> r));
    var serviceMonitor = monitors.get("ServiceMonitor");
    assertThat(serviceMonitor.getMetadata().getLabels()).containsEntry("release", "prom");
    assertThat(serviceMonitor.get("spec", "endpoints").toString()).contains("/q/metrics");
    var podMonitor = monitors.get("PodMonitor");
    assertThat(podMonitor.get("spec", "selector", "matchLabels").toString())
        .contains("app.kubernetes.io/managed-by=stepwise-operator");
    assertThat(podMonitor.get("spec", "podMetricsEndpoints").toString()).contains("port=metrics");
    var dashboard = chart.one(ConfigMap.class, "stepwise-dashboard");
    assertThat(dashboard.getMetadata().getLabels()).containsEntry("grafana_dashboard", "1");
    var json = new ObjectMapper().readTree(dashboard.getData().get("stepwise.json"));
    assertThat(json.path("uid").asText()).isEqualTo("stepwise-runs");
    assertThat(json.toString())
        .contains("stepwise_loss", "stepwise_mean_reward", "stepwise_checkpoint_stall_seconds");
  }

  @Test
  void monitoringIsOffByDefault() {
    assertThat(Chart.render().all(GenericKubernetesResource.class)).isEmpty();
  }
}
