package dev.stepwise.operator.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.api.RunPhase;
import dev.stepwise.api.TrainingRun;
import dev.stepwise.cluster.LocalCluster;
import dev.stepwise.cluster.controlplane.AuditLog;
import dev.stepwise.operator.Fixtures;
import dev.stepwise.operator.dependent.RunDataPvcDependent;
import dev.stepwise.operator.dependent.RuntimeRoleBindingDependent;
import dev.stepwise.operator.dependent.RuntimeRoleDependent;
import dev.stepwise.operator.dependent.RuntimeServiceAccountDependent;
import dev.stepwise.operator.dependent.TrainerServiceDependent;
import dev.stepwise.operator.dependent.TrainerStatefulSetDependent;
import dev.stepwise.operator.dependent.TrainingConfigMapDependent;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * A fault: two operator replicas with leader election (the chart upgraded to {@code replicaCount:
 * 2}), and the leader SIGKILLed a seeded random moment after two runs are created, while it
 * reconciles them. A live process holds the Lease again within the lease duration (the standby, or
 * the killed pod's restarted container, whichever acquires first), the runs Succeed with each child
 * created exactly once, and the audit log shows no operator write from a pod that did not hold the
 * Lease at that moment: the two pods share one ServiceAccount, and tell apart by the pod their
 * bound token names. The chart is put back to one replica without leader election afterwards.
 */
class LeaderElectionE2E {

  private static final String NS = "e2e-leader";
  private static final Duration WAIT = Duration.ofMinutes(5);
  private static final String LEASE = LocalCluster.RELEASE + "-leader";

  /** Java Operator SDK's defaults, which the operator keeps. */
  private static final Duration LEASE_DURATION = Duration.ofSeconds(15);

  private static final Duration RETRY_PERIOD = Duration.ofSeconds(2);

  /** Writes that change nothing: access reviews (the Lease access check on start). */
  private static final Set<String> REVIEWS =
      Set.of("selfsubjectrulesreviews", "selfsubjectaccessreviews", "tokenreviews");

  @Test
  void theLeaderKilledMidReconcileIsReplacedWithinTheLeaseAndNeverTwoLeadersWrite()
      throws Exception {
    var seed = Long.getLong("stepwise.fault.seed", System.nanoTime());
    var random = new Random(seed);
    System.out.printf("leader-election-e2e: seed %d%n", seed);
    var cluster = RealCluster.get();
    RealCluster.namespace(NS);
    var client = cluster.client();
    var kubelet = cluster.kubelet();
    try {
      OperatorChart.upgrade(cluster, Map.of("replicaCount", "2", "leaderElection.enabled", "true"));
      OperatorChart.awaitOperators(cluster, 2);
      var leading = awaitLeader(cluster, Instant.now().minus(LEASE_DURATION), null);
      var leader = leading.pod();
      var operators = kubelet.processes(LocalCluster.OPERATOR_NAMESPACE).keySet();
      assertEquals(2, operators.size(), "two operator pods " + operators);
      assertTrue(operators.contains(leader), "the Lease holder is an operator pod: " + leader);
      var audit = new AuditLog(cluster.controlPlane().auditLog()).mark();

      var runs = new ArrayList<E2eRun>();
      var objects = new ArrayList<TrainingRun>();
      for (int i = 0; i < 2; i++) {
        var name = "led-" + i;
        var run = Fixtures.example("sft-run.yaml", NS);
        run.getMetadata().setName(name);
        run.getSpec().setMaxSteps(300L);
        run.getSpec().getCkpt().setInterval(50);
        run.getSpec().getCkpt().setKeep(100);
        run.getSpec()
            .getTrainer()
            .setConfig(
                E2eRun.small(run.getSpec().getTrainer().getConfig())
                    .replace("samples = 256", "samples = 0"));
        objects.add(client.resource(run).create());
        runs.add(
            new E2eRun(
                client,
                NS,
                name,
                WAIT,
                () -> kubelet.logTails(NS, 20) + operatorLogs(cluster) + seedNote(seed)));
      }
      // Mid-reconcile: once the leader's first write for the new runs is in the audit log, and a
      // seeded random moment later.
      var before = new ArrayList<AuditLog.Request>();
      Awaitility.await()
          .alias("the leader's first write in " + NS)
          .atMost(WAIT)
          .pollInterval(Duration.ofMillis(20))
          .until(
              () -> {
                before.addAll(audit.take());
                return before.stream()
                    .anyMatch(
                        r -> r.isWrite() && NS.equals(r.namespace()) && leader.equals(r.pod()));
              });
      var delay = random.nextInt(500);
      Thread.sleep(delay);
      var killed = Instant.now();
      kubelet.kill(LocalCluster.OPERATOR_NAMESPACE, leader);
      var successor = awaitLeader(cluster, killed, leading.holder());
      var takeover = Duration.between(killed, successor.at());
      var standby = operators.stream().filter(p -> !p.equals(leader)).findFirst().orElseThrow();

      for (var run : runs) {
        run.awaitStatus(
            t -> t.getStatus().getPhase() == RunPhase.Succeeded, "Succeeded after the kill");
      }
      var requests = new ArrayList<>(before);
      requests.addAll(audit.take());
      var writes = operatorWrites(requests);
      var leases = new ArrayList<AuditLog.Request>();
      // The Lease as it stood when the audit window opened: its last renewal came before it.
      leases.add(
          new AuditLog.Request(
              LocalCluster.operatorUser(),
              "update",
              "leases",
              null,
              LocalCluster.OPERATOR_NAMESPACE,
              LEASE,
              200,
              leader,
              leading.at()));
      leases.addAll(leaseTimeline(requests));
      var violations = writesWithoutTheLease(writes, leases);
      assertEquals(
          List.of(), violations, "operator writes by a pod without the Lease" + seedNote(seed));
      var created = AuditLog.createdMoreThanOnce(writes);
      assertEquals(
          Map.of(), created, "objects the operator created more than once" + seedNote(seed));
      for (var run : objects) {
        assertChildrenPresent(cluster, run);
      }
      var byPod =
          writes.stream()
              .collect(
                  Collectors.groupingBy(
                      AuditLog.Request::pod, TreeMap::new, Collectors.counting()));
      assertTrue(
          takeover.compareTo(LEASE_DURATION.plus(RETRY_PERIOD).plusSeconds(3)) <= 0,
          "a live operator leads within the lease duration, took " + takeover + seedNote(seed));
      System.out.printf(
          "BENCHMARK FAULT leader-election-e2e: seed %d; 2 replicas, leader %s SIGKILLed %d ms after"
              + " its first write for 2 new runs; Lease taken by %s (%s) %.1f s after the kill (lease %d s, retry"
              + " %d s); both runs Succeeded, every child created once; %d operator writes by pod"
              + " %s, 0 by a pod without the Lease (%d Lease renewals)%n",
          seed,
          leader,
          delay,
          successor.holder(),
          successor.pod().equals(standby) ? "the standby" : "the killed pod, restarted",
          takeover.toMillis() / 1e3,
          LEASE_DURATION.toSeconds(),
          RETRY_PERIOD.toSeconds(),
          writes.size(),
          byPod,
          leases.size() - 1);
    } finally {
      OperatorChart.upgrade(
          cluster, Map.of("replicaCount", "1", "leaderElection.enabled", "false"));
      OperatorChart.awaitOperators(cluster, 1);
    }
  }

  /** Who holds the Lease (the operator's identity: {@code <pod>_<uuid>}), from when. */
  private record Holding(String holder, Instant at) {

    String pod() {
      return holder.substring(0, holder.lastIndexOf('_'));
    }
  }

  /**
   * Waits for a Lease renewed after {@code after} by another holder than {@code not}, and returns
   * its holder and renewal time.
   */
  private static Holding awaitLeader(LocalCluster cluster, Instant after, String not) {
    return Awaitility.await()
        .alias("a Lease renewed after " + after + " by another holder than " + not)
        .atMost(LEASE_DURATION.multipliedBy(4))
        .pollInterval(Duration.ofMillis(50))
        .until(
            () -> {
              Lease lease =
                  cluster
                      .client()
                      .leases()
                      .inNamespace(LocalCluster.OPERATOR_NAMESPACE)
                      .withName(LEASE)
                      .get();
              var spec = lease == null ? null : lease.getSpec();
              if (spec == null || spec.getHolderIdentity() == null || spec.getRenewTime() == null) {
                return null;
              }
              var renewed = spec.getRenewTime().toInstant();
              return renewed.isAfter(after) && !spec.getHolderIdentity().equals(not)
                  ? new Holding(spec.getHolderIdentity(), renewed)
                  : null;
            },
            h -> h != null);
  }

  /** The operator's writes (not its Lease, not access reviews), in the order received. */
  private static List<AuditLog.Request> operatorWrites(List<AuditLog.Request> requests) {
    return requests.stream()
        .filter(AuditLog.Request::isWrite)
        .filter(r -> r.user().equals(LocalCluster.operatorUser()))
        .filter(r -> !"leases".equals(r.resource()) && !REVIEWS.contains(r.resource()))
        .peek(r -> assertNotNull(r.pod(), "an operator write without a bound pod token: " + r))
        .toList();
  }

  /** Successful writes of the Lease: from each, its writer holds it for the lease duration. */
  private static List<AuditLog.Request> leaseTimeline(List<AuditLog.Request> requests) {
    return requests.stream()
        .filter(AuditLog.Request::isWrite)
        .filter(r -> "leases".equals(r.resource()) && LEASE.equals(r.name()))
        .filter(r -> r.code() < 300)
        .toList();
  }

  /**
   * Writes made by a pod other than the last one to acquire or renew the Lease before them, or
   * longer than the lease duration after that renewal: a second leader, or one past its lease.
   */
  private static List<String> writesWithoutTheLease(
      List<AuditLog.Request> writes, List<AuditLog.Request> leases) {
    var wrong = new ArrayList<String>();
    for (var write : writes) {
      var holding =
          leases.stream().filter(l -> !l.at().isAfter(write.at())).reduce((a, b) -> b).orElse(null);
      if (holding == null
          || !holding.pod().equals(write.pod())
          || Duration.between(holding.at(), write.at()).compareTo(LEASE_DURATION) > 0) {
        wrong.add(
            "%s %s %s/%s by %s at %s; Lease: %s"
                .formatted(
                    write.verb(),
                    write.what(),
                    write.namespace(),
                    write.name(),
                    write.pod(),
                    write.at(),
                    holding == null ? "none" : holding.pod() + " at " + holding.at()));
      }
    }
    return wrong;
  }

  /** Every child of an sft run exists, owned by the run. */
  private static void assertChildrenPresent(LocalCluster cluster, TrainingRun run) {
    var client = cluster.client();
    var uid = run.getMetadata().getUid();
    var children =
        List.of(
            client
                .configMaps()
                .inNamespace(NS)
                .withName(TrainingConfigMapDependent.name(run))
                .get(),
            client
                .serviceAccounts()
                .inNamespace(NS)
                .withName(RuntimeServiceAccountDependent.name(run))
                .get(),
            client.rbac().roles().inNamespace(NS).withName(RuntimeRoleDependent.name(run)).get(),
            client
                .rbac()
                .roleBindings()
                .inNamespace(NS)
                .withName(RuntimeRoleBindingDependent.name(run))
                .get(),
            client
                .persistentVolumeClaims()
                .inNamespace(NS)
                .withName(RunDataPvcDependent.name(run))
                .get(),
            client.services().inNamespace(NS).withName(TrainerServiceDependent.name(run)).get(),
            client
                .apps()
                .statefulSets()
                .inNamespace(NS)
                .withName(TrainerStatefulSetDependent.name(run))
                .get());
    for (var child : children) {
      assertNotNull(child, "a child of " + run.getMetadata().getName() + " is missing");
      var owners = child.getMetadata().getOwnerReferences();
      assertEquals(
          1,
          owners.stream().filter(o -> uid.equals(o.getUid())).count(),
          child.getKind() + " " + child.getMetadata().getName() + " owned once by its run");
    }
  }

  private static String operatorLogs(LocalCluster cluster) {
    return "\n" + cluster.kubelet().logTails(LocalCluster.OPERATOR_NAMESPACE, 30);
  }

  private static String seedNote(long seed) {
    return "\n(replay with -Dstepwise.fault.seed=" + seed + ")";
  }
}
