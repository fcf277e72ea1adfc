package dev.stepwise.operator.config;

import io.javaoperatorsdk.operator.api.config.LeaderElectionConfiguration;
import jakarta.enterprise.context.Dependent;
import jakarta.enterprise.inject.Produces;
import java.util.Optional;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * Leader election for more than one operator replica (the chart turns it on). QOSDK asks for this
 * bean in the prod profile; {@code null} means "no leader election".
 */
@Dependent
public class LeaderElectionProducer {

  @Produces
  @Dependent
  LeaderElectionConfiguration leaderElection(
      @ConfigProperty(name = "stepwise.leader-election.enabled", defaultValue = "false")
          boolean enabled,
      @ConfigProperty(
              name = "stepwise.leader-election.lease-name",
              defaultValue = "stepwise-operator")
          String leaseName,
      @ConfigProperty(name = "stepwise.leader-election.lease-namespace")
          Optional<String> leaseNamespace) {
    if (!enabled) {
      return null;
    }
    var namespace = leaseNamespace.or(() -> Optional.ofNullable(System.getenv("POD_NAMESPACE")));
    return new LeaderElectionConfiguration(leaseName, namespace.orElse(null));
  }
}
