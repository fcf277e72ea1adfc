package dev.stepwise.operator.dependent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.api.RunType;
import dev.stepwise.operator.TrainingRunReconciler;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.quarkiverse.operatorsdk.annotations.RBACRule;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

class RuntimeRoleDependentTest {

  @Test
  void theTrainingRoleGrantsOnlyCheckpointReportingAndOwnProgressAndTheOperatorHoldsAllOfIt() {
    // given
    var run = RuntimeArgsTest.run(RunType.SFT, null, null);

    // when
    var role = new RuntimeRoleDependent().desired(run, null);

    // then
    var granted = permissions(role.getRules());
    assertEquals(
        new TreeSet<>(
            List.of(
                "stepwise.dev/checkpoints:create",
                "stepwise.dev/checkpoints:get",
                "stepwise.dev/checkpoints:list",
                "stepwise.dev/checkpoints:patch",
                "stepwise.dev/checkpoints:update",
                "stepwise.dev/checkpoints/status:get",
                "stepwise.dev/checkpoints/status:patch",
                "stepwise.dev/checkpoints/status:update",
                "stepwise.dev/trainingruns/status:patch")),
        granted);
    var ownRun =
        role.getRules().stream()
            .filter(r -> r.getResources().contains("trainingruns/status"))
            .findFirst()
            .orElseThrow();
    assertEquals(List.of(run.getMetadata().getName()), ownRun.getResourceNames());
    // Kubernetes refuses a Role granting more than its creator holds (no "escalate"): the rules
    // the reconciler declares for itself cover the whole training Role.
    var held = new TreeSet<String>();
    for (var rule : TrainingRunReconciler.class.getAnnotationsByType(RBACRule.class)) {
      for (var group : rule.apiGroups()) {
        for (var resource : rule.resources()) {
          Arrays.stream(rule.verbs())
              .forEach(verb -> held.add(group + "/" + resource + ":" + verb));
        }
      }
    }
    assertTrue(held.containsAll(granted), () -> "missing from @RBACRule: " + minus(granted, held));
  }

  private static Set<String> permissions(List<PolicyRule> rules) {
    var permissions = new TreeSet<String>();
    for (var rule : rules) {
      for (var group : rule.getApiGroups()) {
        for (var resource : rule.getResources()) {
          rule.getVerbs().forEach(verb -> permissions.add(group + "/" + resource + ":" + verb));
        }
      }
    }
    return permissions;
  }

  private static Set<String> minus(Set<String> from, Set<String> taken) {
    var rest = new TreeSet<>(from);
    rest.removeAll(taken);
    return rest;
  }
}
