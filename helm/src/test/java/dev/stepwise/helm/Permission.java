package dev.stepwise.helm;

import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import java.util.Collection;
import java.util.Set;
import java.util.TreeSet;

/**
 * One verb on one resource of one API group, the unit in which RBAC rules are compared. Rules that
 * name resourceNames are kept apart: they grant less than the same verb on the whole resource.
 */
record Permission(String apiGroup, String resource, String verb, boolean namedOnly)
    implements Comparable<Permission> {

  static Permission of(String apiGroup, String resource, String verb) {
    return new Permission(apiGroup, resource, verb, false);
  }

  /** Every permission the rules grant. */
  static Set<Permission> of(Collection<PolicyRule> rules) {
    var permissions = new TreeSet<Permission>();
    for (PolicyRule rule : rules) {
      boolean named = rule.getResourceNames() != null && !rule.getResourceNames().isEmpty();
      for (String group : rule.getApiGroups()) {
        for (String resource : rule.getResources()) {
          for (String verb : rule.getVerbs()) {
            permissions.add(new Permission(group, resource, verb, named));
          }
        }
      }
    }
    return permissions;
  }

  @Override
  public int compareTo(Permission other) {
    return toString().compareTo(other.toString());
  }

  @Override
  public String toString() {
    return (apiGroup.isEmpty() ? "core" : apiGroup)
        + "/"
        + resource
        + ":"
        + verb
        + (namedOnly ? "(named)" : "");
  }
}
