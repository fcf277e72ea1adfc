package dev.stepwise.helm;

import java.util.Set;
import java.util.TreeSet;

/** The permissions the chart is expected to grant, written out verb by verb. */
final class ExpectedRbac {

  private static final String[] RECONCILE = {"get", "list", "watch", "patch", "update"};
  private static final String[] OWN = {
    "get", "list", "watch", "create", "patch", "update", "delete"
  };

  /** What the operator may do in each namespace it watches. */
  static final Set<Permission> OPERATOR =
      new Builder()
          .grant(
              "stepwise.dev",
              RECONCILE,
              "trainingruns",
              "trainingruns/status",
              "trainingruns/finalizers")
          .grant("stepwise.dev", RECONCILE, "checkpoints/status", "checkpoints/finalizers")
          .grant("stepwise.dev", OWN, "checkpoints")
          .grant("", OWN, "configmaps", "services", "serviceaccounts")
          .grant(
              "",
              new String[] {"get", "list", "watch", "create", "patch", "delete"},
              "persistentvolumeclaims")
          .grant("apps", OWN, "statefulsets", "deployments")
          .grant("batch", new String[] {"list", "watch", "create", "delete"}, "jobs")
          .grant("rbac.authorization.k8s.io", OWN, "roles", "rolebindings")
          .grant("", new String[] {"list", "watch", "delete"}, "pods")
          .grant("", new String[] {"get", "create", "patch"}, "events")
          .build();

  /**
   * What the per-run Role of training pods grants (the operator creates it, RuntimeRoleDependent):
   * the runtime records the Checkpoints of its run and resyncs them with the volume.
   */
  static final Set<Permission> TRAINING_POD =
      new Builder()
          .grant(
              "stepwise.dev",
              new String[] {"get", "list", "create", "update", "patch"},
              "checkpoints")
          .grant("stepwise.dev", new String[] {"get", "update", "patch"}, "checkpoints/status")
          .build();

  private ExpectedRbac() {}

  private static final class Builder {
    private final Set<Permission> permissions = new TreeSet<>();

    Builder grant(String group, String[] verbs, String... resources) {
      for (String resource : resources) {
        for (String verb : verbs) {
          permissions.add(Permission.of(group, resource, verb));
        }
      }
      return this;
    }

    Set<Permission> build() {
      return Set.copyOf(permissions);
    }
  }
}
