package dev.stepwise.helm;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** `helm template` with the chart's default values. */
class ChartDefaultsTest {

  private static final String VERSION =
      System.getProperty("stepwise.version", "").replace("-SNAPSHOT", "");

  private final Chart.Rendered chart = Chart.render();
  private final Deployment deployment = chart.one(Deployment.class, Chart.RELEASE);
  private final PodSpec pod = deployment.getSpec().getTemplate().getSpec();
  private final Container operator = pod.getContainers().get(0);

  @Test
  void rendersOnlyTheOperatorItsIdentityAndItsService() {
    var kinds = chart.objects().stream().map(HasMetadata::getKind).sorted().toList();

    assertThat(kinds)
        .containsExactly(
            "ClusterRole",
            "ClusterRoleBinding",
            "Deployment",
            "Role",
            "RoleBinding",
            "Service",
            "ServiceAccount");
  }

  @Test
  void operatorRunsTheChartsImageAtTheProjectVersion() {
    assertThat(VERSION).isNotBlank();
    assertThat(pod.getContainers()).hasSize(1);
    assertThat(operator.getImage()).isEqualTo("ghcr.io/stepwise-dev/stepwise-operator:" + VERSION);
    assertThat(operator.getImagePullPolicy()).isEqualTo("IfNotPresent");
    assertThat(deployment.getSpec().getReplicas()).isEqualTo(1);
  }

  @Test
  void operatorPodIsNonRootReadOnlyWithoutCapabilities() {
    var podSecurity = pod.getSecurityContext();
    assertThat(podSecurity.getRunAsNonRoot()).isTrue();
    assertThat(podSecurity.getRunAsUser()).isEqualTo(65532L);
    assertThat(podSecurity.getSeccompProfile().getType()).isEqualTo("RuntimeDefault");

    var security = operator.getSecurityContext();
    assertThat(security.getRunAsNonRoot()).isTrue();
    assertThat(security.getReadOnlyRootFilesystem()).isTrue();
    assertThat(security.getAllowPrivilegeEscalation()).isFalse();
    assertThat(security.getPrivileged()).isNotEqualTo(Boolean.TRUE);
    assertThat(security.getCapabilities().getDrop()).containsExactly("ALL");
    assertThat(security.getCapabilities().getAdd()).isNullOrEmpty();
  }

  @Test
  void onlyTheOperatorPodMountsAServiceAccountToken() {
    var account = chart.one(ServiceAccount.class, Chart.RELEASE);

    assertThat(account.getAutomountServiceAccountToken()).isFalse();
    assertThat(pod.getServiceAccountName()).isEqualTo(Chart.RELEASE);
    assertThat(pod.getAutomountServiceAccountToken()).isTrue();
  }

  @Test
  void scratchSpaceIsAnEmptyDirBecauseTheRootFilesystemIsReadOnly() {
    assertThat(operator.getVolumeMounts())
        .singleElement()
        .satisfies(mount -> assertThat(mount.getMountPath()).isEqualTo("/tmp"));
    assertThat(pod.getVolumes())
        .singleElement()
        .satisfies(volume -> assertThat(volume.getEmptyDir()).isNotNull());
  }

  @Test
  void operatorIsConfiguredForAllNamespacesWithLeaderElection() {
    assertThat(env())
        .containsEntry("QUARKUS_OPERATOR_SDK_NAMESPACES", "JOSDK_ALL_NAMESPACES")
        .containsEntry("STEPWISE_LEADER_ELECTION_ENABLED", "true")
        .containsEntry("STEPWISE_LEADER_ELECTION_LEASE_NAME", "stepwise-leader")
        .containsEntry("QUARKUS_LOG_LEVEL", "INFO")
        .containsEntry("QUARKUS_LOG_CATEGORY__DEV_STEPWISE__LEVEL", "INFO");
    assertThat(deployment.getSpec().getStrategy().getType()).isEqualTo("RollingUpdate");
  }

  @Test
  void probesAndServiceUseQuarkusHealthOnTheHttpPort() {
    assertThat(operator.getPorts())
        .singleElement()
        .satisfies(
            port -> {
              assertThat(port.getName()).isEqualTo("http");
              assertThat(port.getContainerPort()).isEqualTo(8080);
            });
    assertThat(operator.getStartupProbe().getHttpGet().getPath()).isEqualTo("/q/health/started");
    assertThat(operator.getLivenessProbe().getHttpGet().getPath()).isEqualTo("/q/health/live");
    assertThat(operator.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/q/health/ready");

    var service = chart.one(Service.class, Chart.RELEASE);
    assertThat(service.getSpec().getSelector())
        .isEqualTo(deployment.getSpec().getSelector().getMatchLabels());
    assertThat(deployment.getSpec().getTemplate().getMetadata().getLabels())
        .containsAllEntriesOf(service.getSpec().getSelector());
    assertThat(service.getSpec().getPorts())
        .singleElement()
        .satisfies(port -> assertThat(port.getTargetPort().getStrVal()).isEqualTo("http"));
  }

  @Test
  void clusterRoleGrantsTheOperatorsRulesToItsServiceAccount() {
    var role = chart.one(ClusterRole.class, Chart.RELEASE);
    var binding = chart.one(ClusterRoleBinding.class, Chart.RELEASE);

    assertThat(Permission.of(role.getRules())).isEqualTo(ExpectedRbac.OPERATOR);
    assertThat(binding.getRoleRef().getName()).isEqualTo(Chart.RELEASE);
    assertThat(binding.getSubjects())
        .singleElement()
        .satisfies(
            subject -> {
              assertThat(subject.getKind()).isEqualTo("ServiceAccount");
              assertThat(subject.getName()).isEqualTo(Chart.RELEASE);
              assertThat(subject.getNamespace()).isEqualTo(Chart.NAMESPACE);
            });
  }

  @Test
  void leaderElectionMayCreateLeasesButTouchOnlyItsOwn() {
    var role = chart.one(Role.class, "stepwise-leader-election");
    var binding = chart.one(RoleBinding.class, "stepwise-leader-election");

    assertThat(role.getMetadata().getNamespace()).isEqualTo(Chart.NAMESPACE);
    assertThat(Permission.of(role.getRules()))
        .containsExactlyInAnyOrder(
            Permission.of("coordination.k8s.io", "leases", "create"),
            new Permission("coordination.k8s.io", "leases", "get", true),
            // Fabric8's LeaseLock renews with PATCH: without it every renewal is refused.
            new Permission("coordination.k8s.io", "leases", "patch", true),
            new Permission("coordination.k8s.io", "leases", "update", true));
    assertThat(role.getRules())
        .filteredOn(rule -> !rule.getResourceNames().isEmpty())
        .singleElement()
        .satisfies(rule -> assertThat(rule.getResourceNames()).containsExactly("stepwise-leader"));
    assertThat(binding.getRoleRef().getName()).isEqualTo("stepwise-leader-election");
    assertThat(binding.getSubjects().get(0).getName()).isEqualTo(Chart.RELEASE);
  }

  @Test
  void operatorRulesLetItCreateThePerRunTrainingRole() {
    // Kubernetes refuses a Role that grants more than its creator holds (no "escalate" is granted).
    var role = chart.one(ClusterRole.class, Chart.RELEASE);

    assertThat(Permission.of(role.getRules())).containsAll(ExpectedRbac.TRAINING_POD);
  }

  @Test
  void noRuleUsesWildcardsSecretsOrPrivilegeVerbs() {
    var rules =
        chart.objects().stream()
            .flatMap(
                o ->
                    o instanceof ClusterRole c
                        ? c.getRules().stream()
                        : o instanceof Role r
                            ? r.getRules().stream()
                            : java.util.stream.Stream.empty())
            .toList();

    assertThat(rules).isNotEmpty();
    assertThat(Permission.of(rules))
        .allSatisfy(
            p -> {
              assertThat(List.of(p.apiGroup(), p.resource(), p.verb())).doesNotContain("*");
              assertThat(p.resource()).isNotIn("secrets", "nodes", "namespaces");
              assertThat(p.verb()).isNotIn("bind", "escalate", "impersonate", "deletecollection");
            });
  }

  @Test
  void namespacedObjectsLiveInTheReleaseNamespaceAndAllCarryTheChartLabels() {
    assertThat(chart.objects())
        .allSatisfy(
            o -> {
              assertThat(o.getMetadata().getLabels())
                  .containsEntry("app.kubernetes.io/name", "stepwise")
                  .containsEntry("app.kubernetes.io/instance", Chart.RELEASE)
                  .containsEntry("app.kubernetes.io/version", VERSION);
              if (o instanceof Namespaced) {
                assertThat(o.getMetadata().getNamespace())
                    .as(o.getKind())
                    .isEqualTo(Chart.NAMESPACE);
              }
            });
  }

  private Map<String, String> env() {
    return operator.getEnv().stream()
        .filter(e -> e.getValue() != null)
        .collect(Collectors.toMap(EnvVar::getName, EnvVar::getValue));
  }
}
