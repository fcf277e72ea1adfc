package dev.stepwise.helm;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * The chart grants exactly what the operator's code uses. The operator's side is the RBAC that the
 * Quarkus Operator SDK derives at build time from the reconcilers, their dependent resources and
 * their {@code @RBACRule}s (operator/target/kubernetes/kubernetes.yml).
 */
class OperatorRbacTest {

  /** JOSDK never creates or deletes a reconciler's primary resource; QOSDK grants it anyway. */
  private static final Set<String> VERBS_NEVER_USED_ON_PRIMARIES = Set.of("create", "delete");

  @Test
  void chartGrantsExactlyWhatTheOperatorsReconcilersUse() throws IOException {
    var needed = operatorPermissions();
    var granted = Permission.of(Chart.render().one(ClusterRole.class, Chart.RELEASE).getRules());

    assertThat(needed).as("RBAC rules found in %s", operatorManifests()).isNotEmpty();
    assertThat(minus(needed, granted))
        .as(
            "the operator would be refused these; add them to stepwise.operatorRules in _helpers.tpl")
        .isEmpty();
    assertThat(minus(granted, needed))
        .as("the chart grants these but no reconciler, dependent or @RBACRule uses them")
        .isEmpty();
  }

  private static Set<Permission> minus(Set<Permission> from, Set<Permission> taken) {
    var rest = new TreeSet<>(from);
    rest.removeAll(taken);
    return rest;
  }

  @Test
  void namespacedRolesGrantTheSameAsTheClusterRole() {
    var clusterWide = Chart.render().one(ClusterRole.class, Chart.RELEASE).getRules();
    var namespaced =
        Chart.render(Chart.values("watchNamespaces[0]", "team-a")).all(Role.class).stream()
            .filter(role -> "team-a".equals(role.getMetadata().getNamespace()))
            .findFirst()
            .orElseThrow()
            .getRules();

    assertThat(Permission.of(namespaced)).isEqualTo(Permission.of(clusterWide));
  }

  private static Set<Permission> operatorPermissions() throws IOException {
    var manifests = operatorManifests();
    assertThat(manifests)
        .as(
            "the operator's generated manifests; build the operator first (mvn -pl helm -am verify does)")
        .exists();
    var objects = Chart.Rendered.parse(Files.readString(manifests));
    var rules = new ArrayList<PolicyRule>();
    objects.all(ClusterRole.class).forEach(role -> rules.addAll(role.getRules()));
    objects.all(Role.class).forEach(role -> rules.addAll(role.getRules()));

    var permissions = new TreeSet<Permission>();
    for (PolicyRule rule : rules) {
      boolean primary = rule.getResources().stream().anyMatch(r -> r.endsWith("/finalizers"));
      Permission.of(List.of(rule)).stream()
          .filter(p -> !(primary && VERBS_NEVER_USED_ON_PRIMARIES.contains(p.verb())))
          .forEach(permissions::add);
    }
    return permissions;
  }

  private static Path operatorManifests() {
    return Path.of(
            System.getProperty(
                "stepwise.operatorManifests", "../operator/target/kubernetes/kubernetes.yml"))
        .toAbsolutePath()
        .normalize();
  }
}
