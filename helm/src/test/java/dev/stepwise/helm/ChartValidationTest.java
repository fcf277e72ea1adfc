package dev.stepwise.helm;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** Bad values stop `helm template`/`helm install` with a message naming the value. */
class ChartValidationTest {

  @Test
  void unknownPullPolicyIsRejectedByTheSchema() {
    assertRejected(
        Chart.values("image.pullPolicy", "Sometimes"),
        "/image/pullPolicy",
        "must be one of 'Always', 'IfNotPresent', 'Never'");
  }

  @Test
  void invalidNamespaceNameIsRejectedByTheSchema() {
    assertRejected(
        Chart.values("watchNamespaces[0]", "team-a", "watchNamespaces[1]", "Team_A"),
        "/watchNamespaces/1",
        "Team_A");
  }

  @Test
  void misspelledTopLevelValueIsRejectedByTheSchema() {
    assertRejected(Chart.values("replicas", 2), "replicas");
  }

  @Test
  void unknownLogLevelIsRejectedByTheSchema() {
    assertRejected(Chart.values("log.level", "VERBOSE"), "/log/level", "must be one of");
  }

  @Test
  void malformedResourceQuantityIsRejectedByTheSchema() {
    assertRejected(
        Chart.values("resources.limits.memory", "lots"), "/resources/limits/memory", "lots");
  }

  @Test
  void severalReplicasWithoutLeaderElectionAreRefused() {
    assertRejected(
        Chart.values("replicaCount", 2, "leaderElection.enabled", false),
        "replicaCount is 2 but leaderElection.enabled is false");
  }

  @Test
  void existingServiceAccountNeedsAName() {
    assertRejected(
        Chart.values("serviceAccount.create", false),
        "serviceAccount.name is required when serviceAccount.create is false");
  }

  private static void assertRejected(Map<String, Object> values, String... messageParts) {
    assertThatThrownBy(() -> Chart.render(values)).hasMessageContainingAll(messageParts);
  }
}
