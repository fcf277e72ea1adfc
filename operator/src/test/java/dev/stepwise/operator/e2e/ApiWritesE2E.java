package dev.stepwise.operator.e2e;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.stepwise.api.RunPhase;
import dev.stepwise.api.TrainingRun;
import dev.stepwise.cluster.LocalCluster;
import dev.stepwise.cluster.controlplane.AuditLog;
import dev.stepwise.operator.Fixtures;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A benchmark on the real API server, counted from its audit log: the writes the operator (as its
 * chart's ServiceAccount) makes to create one sft and one rl run until every child exists, over the
 * rest of the run's life, and in an idle minute with both runs finished. Prints {@code BENCHMARK}
 * lines; asserts only that an idle operator writes nothing. The idle window is {@code
 * -Dstepwise.idle.seconds} (default 60).
 */
class ApiWritesE2E {

  private static final String NS = "e2e-writes";
  private static final Duration RUN = Duration.ofSeconds(180);

  @Test
  void writesPerRunAndNoneWhenIdle() throws Exception {
    var cluster = RealCluster.get();
    RealCluster.namespace(NS);
    var audit = new AuditLog(cluster.controlPlane().auditLog());

    var sft = Fixtures.example("sft-run.yaml", NS);
    sft.getMetadata().setName("writes-sft");
    sft.getSpec().setMaxSteps(4L);
    sft.getSpec().getCkpt().setInterval(2);
    sft.getSpec()
        .getTrainer()
        .setConfig(
            E2eRun.small(sft.getSpec().getTrainer().getConfig())
                .replace("samples = 256", "samples = 0"));
    measure(cluster, audit, sft);

    var rl = Fixtures.rlRunAlone(NS);
    rl.getMetadata().setName("writes-rl");
    rl.getSpec().setMaxSteps(4L);
    rl.getSpec().getCkpt().setInterval(2);
    E2eRun.shrinkRl(rl.getSpec());
    measure(cluster, audit, rl);

    var idle = Duration.ofSeconds(Long.getLong("stepwise.idle.seconds", 60));
    audit.mark();
    await()
        .during(idle)
        .atMost(idle.plusSeconds(10))
        .pollInterval(Duration.ofSeconds(1))
        .until(() -> AuditLog.countWrites(audit.take(), LocalCluster.operatorUser()::equals) == 0);
    System.out.printf(
        "BENCHMARK api-writes-e2e idle: 0 operator writes in %d s with 2 finished runs (and every"
            + " earlier test's) under management%n",
        idle.toSeconds());
  }

  private static void measure(LocalCluster cluster, AuditLog audit, TrainingRun run)
      throws Exception {
    var client = cluster.client();
    var name = run.getMetadata().getName();
    var tr = new E2eRun(client, NS, name, RUN, () -> cluster.kubelet().logTails(NS, 30));
    audit.mark();
    var start = System.nanoTime();
    client.resource(run).create();
    tr.awaitTrue(() -> childrenPresent(cluster, run), "every child of " + name + " exists");
    var created = (System.nanoTime() - start) / 1e6;
    var window = audit.take();
    var toCreate = AuditLog.writesBy(window, LocalCluster.operatorUser()::equals);
    tr.awaitStatus(t -> t.getStatus().getPhase() == RunPhase.Succeeded, "Succeeded");
    tr.awaitTrue(
        () ->
            cluster.kubelet().processes(NS).keySet().stream()
                .noneMatch(p -> p.startsWith(name + "-trainer")),
        "the finished run's trainer pod is gone");
    var later = audit.take();
    var rest = AuditLog.writesBy(later, LocalCluster.operatorUser()::equals);
    System.out.printf(
        "BENCHMARK api-writes-e2e %s run: create -> all children %.0f ms, %d operator writes %s;"
            + " then to Succeeded %d more %s%n",
        run.getSpec().getType().name().toLowerCase(),
        created,
        sum(toCreate),
        toCreate,
        sum(rest),
        rest);
    var refused =
        java.util.stream.Stream.concat(window.stream(), later.stream())
            .filter(AuditLog.Request::isWrite)
            .filter(w -> w.user().equals(LocalCluster.operatorUser()) && w.code() >= 400)
            .toList();
    assertEquals(
        List.of(), refused, "the API server refused none of the operator's writes (409, 404...)");
  }

  private static long sum(Map<String, Long> counts) {
    return counts.values().stream().mapToLong(Long::longValue).sum();
  }

  private static boolean childrenPresent(LocalCluster cluster, TrainingRun run) {
    var client = cluster.client();
    var r = run.getMetadata().getName();
    var base =
        client.configMaps().inNamespace(NS).withName(r + "-config").get() != null
            && client.serviceAccounts().inNamespace(NS).withName(r + "-runtime").get() != null
            && client.rbac().roles().inNamespace(NS).withName(r + "-runtime").get() != null
            && client.rbac().roleBindings().inNamespace(NS).withName(r + "-runtime").get() != null
            && client.persistentVolumeClaims().inNamespace(NS).withName(r + "-data").get() != null
            && client.services().inNamespace(NS).withName(r + "-trainer").get() != null
            && client.apps().statefulSets().inNamespace(NS).withName(r + "-trainer").get() != null;
    if (!base || run.getSpec().getOrchestrator() == null) {
      return base;
    }
    return client.apps().deployments().inNamespace(NS).withName(r + "-orchestrator").get() != null
        && client.apps().deployments().inNamespace(NS).withName(r + "-inference").get() != null
        && client.services().inNamespace(NS).withName(r + "-inference").get() != null;
  }
}
