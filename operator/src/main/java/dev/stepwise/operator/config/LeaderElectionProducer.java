package dev.stepwise.operator.config;

import io.javaoperatorsdk.operator.api.config.LeaderElectionConfiguration;
import jakarta.enterprise.context.Dependent;
import jakarta.enterprise.inject.Produces;
import java.util.Optional;
import java.util.UUID;
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
    // One identity per process, as client-go's "<hostname>_<uuid>": with the pod name alone, a
    // leader's container restarted in place would read the Lease as its own and start leading
    // before any write of its own succeeded, alongside a replica taking the expired Lease over.
    var pod = Optional.ofNullable(System.getenv("HOSTNAME")).orElse("stepwise-operator");
    return new LeaderElectionConfiguration(
        leaseName,
        namespace.orElse(null),
        LeaderElectionConfiguration.LEASE_DURATION_DEFAULT_VALUE,
        LeaderElectionConfiguration.RENEW_DEADLINE_DEFAULT_VALUE,
        LeaderElectionConfiguration.RETRY_PERIOD_DEFAULT_VALUE,
        pod + "_" + UUID.randomUUID(),
        null,
        true);
  }
}
