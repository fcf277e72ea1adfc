package dev.stepwise.helm;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import org.junit.jupiter.api.Test;

/**
 * `helm template --set watchNamespaces={team-a,team-b}`: namespaced Roles, no cluster-wide grant.
 */
class ChartWatchNamespacesTest {

  private final Chart.Rendered chart =
      Chart.render(Chart.values("watchNamespaces[0]", "team-a", "watchNamespaces[1]", "team-b"));

  @Test
  void nothingIsGrantedClusterWide() {
    assertThat(chart.all(ClusterRole.class)).isEmpty();
    assertThat(chart.all(ClusterRoleBinding.class)).isEmpty();
  }

  @Test
  void eachWatchedNamespaceGetsTheOperatorRulesBoundToItsServiceAccount() {
    for (String namespace : new String[] {"team-a", "team-b"}) {
      var role = roleIn(namespace);
      var binding =
          chart.all(RoleBinding.class).stream()
              .filter(b -> namespace.equals(b.getMetadata().getNamespace()))
              .toList();

      assertThat(Permission.of(role.getRules())).as(namespace).isEqualTo(ExpectedRbac.OPERATOR);
      assertThat(binding)
          .singleElement()
          .satisfies(
              b -> {
                assertThat(b.getRoleRef().getKind()).isEqualTo("Role");
                assertThat(b.getRoleRef().getName()).isEqualTo(role.getMetadata().getName());
                assertThat(b.getSubjects())
                    .singleElement()
                    .satisfies(
                        s -> {
                          assertThat(s.getName()).isEqualTo(Chart.RELEASE);
                          assertThat(s.getNamespace()).isEqualTo(Chart.NAMESPACE);
                        });
              });
    }
  }

  @Test
  void onlyTheLeaseRoleLivesInTheReleaseNamespace() {
    assertThat(chart.all(Role.class))
        .filteredOn(r -> Chart.NAMESPACE.equals(r.getMetadata().getNamespace()))
        .extracting(r -> r.getMetadata().getName())
        .containsExactly("stepwise-leader-election");
  }

  @Test
  void operatorIsToldTheSameNamespaces() {
    var env =
        chart
            .one(Deployment.class, Chart.RELEASE)
            .getSpec()
            .getTemplate()
            .getSpec()
            .getContainers()
            .get(0)
            .getEnv();

    assertThat(env)
        .filteredOn(e -> e.getName().equals("QUARKUS_OPERATOR_SDK_NAMESPACES"))
        .extracting(EnvVar::getValue)
        .containsExactly("team-a,team-b");
  }

  private Role roleIn(String namespace) {
    var roles =
        chart.all(Role.class).stream()
            .filter(r -> namespace.equals(r.getMetadata().getNamespace()))
            .toList();
    assertThat(roles).as("Roles in %s", namespace).hasSize(1);
    return roles.get(0);
  }
}
