package dev.stepwise.operator.e2e;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.stepwise.api.Checkpoint;
import dev.stepwise.api.RunPhase;
import dev.stepwise.cluster.LocalCluster;
import dev.stepwise.cluster.controlplane.AuditLog;
import dev.stepwise.operator.Fixtures;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A namespace of runs and their Checkpoints deleted on the real control plane. The namespace
 * controller deletes the runs' children before the runs, and the API server refuses every create in
 * a namespace being deleted; the operator must neither fight that (recreate what goes, retry the
 * refusals, warn about them) nor hold the deletion up (a Checkpoint's finalizer waiting for a
 * cleanup Job that can no longer be created). Asserts that the namespace is gone within {@link
 * #GONE}, that the operator logged no warning about a refusal of the namespace being deleted and no
 * error about the namespace; prints how long it took and the operator's requests the API server
 * refused there (audit log). A child deleted by the namespace controller while a reconcile updates
 * it answers 404, which the next reconcile settles and which is logged as a warning like any such
 * race: not counted.
 */
class NamespaceDeletionE2E {

  private static final String NS = "e2e-nsdelete";
  private static final Duration RUN = Duration.ofSeconds(180);
  private static final Duration GONE = Duration.ofSeconds(120);
  private static final int SUSPENDED_RUNS = 3;

  @Test
  void aNamespaceOfRunsAndCheckpointsIsDeletedWithoutAFight() throws Exception {
    var cluster = RealCluster.get();
    RealCluster.namespace(NS);
    var client = cluster.client();
    var audit = new AuditLog(cluster.controlPlane().auditLog());

    var trained = Fixtures.example("sft-run.yaml", NS);
    trained.getMetadata().setName("doomed-sft");
    trained.getSpec().setMaxSteps(4L);
    trained.getSpec().getCkpt().setInterval(2);
    trained
        .getSpec()
        .getTrainer()
        .setConfig(
            E2eRun.small(trained.getSpec().getTrainer().getConfig())
                .replace("samples = 256", "samples = 0"));
    client.resource(trained).create();
    for (int i = 0; i < SUSPENDED_RUNS; i++) {
      var suspended = Fixtures.example("sft-run.yaml", NS);
      suspended.getMetadata().setName("doomed-suspended-" + i);
      suspended.getSpec().setSuspend(true);
      client.resource(suspended).create();
    }
    var tr = new E2eRun(client, NS, "doomed-sft", RUN, () -> cluster.kubelet().logTails(NS, 30));
    tr.awaitStatus(t -> t.getStatus().getPhase() == RunPhase.Succeeded, "Succeeded");
    tr.awaitTrue(
        () ->
            client.apps().statefulSets().inNamespace(NS).list().getItems().size()
                == SUSPENDED_RUNS + 1,
        "every run's trainer StatefulSet exists");
    var checkpoints = client.resources(Checkpoint.class).inNamespace(NS).list().getItems();
    assertFalse(checkpoints.isEmpty(), "the trained run left Checkpoints, with their finalizer");

    var warningsBefore = operatorWarningsAbout(cluster);
    audit.mark();
    var start = System.nanoTime();
    client.namespaces().withName(NS).delete();
    await()
        .atMost(GONE)
        .pollInterval(Duration.ofMillis(250))
        .until(() -> client.namespaces().withName(NS).get() == null);
    var seconds = (System.nanoTime() - start) / 1e9;
    // The last events of the namespace reach the operator after it is gone: its log is read once
    // it has stopped growing about the namespace for two seconds.
    var seen = new AtomicInteger(-1);
    await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofSeconds(2))
        .until(
            () -> {
              var now = operatorWarningsAbout(cluster).size();
              return seen.getAndSet(now) == now;
            });
    var refused =
        audit.take().stream()
            .filter(r -> r.user().equals(LocalCluster.operatorUser()))
            .filter(r -> NS.equals(r.namespace()) && r.code() >= 400)
            .toList();
    System.out.printf(
        "BENCHMARK namespace-deletion-e2e %d runs, %d Checkpoints: namespace gone %.1f s after the"
            + " delete; operator requests refused there meanwhile: %d %s%n",
        SUSPENDED_RUNS + 1,
        checkpoints.size(),
        seconds,
        refused.size(),
        AuditLog.writesBy(refused, LocalCluster.operatorUser()::equals));
    var warnings = operatorWarningsAbout(cluster);
    assertEquals(
        List.of(),
        warnings.subList(warningsBefore.size(), warnings.size()),
        "the operator's errors about the namespace, and its warnings about the namespace's"
            + " refusals");
  }

  /**
   * The operator's log lines, oldest first, that name {@link #NS} and are errors, or warnings about
   * a write the namespace refused: a reconcile failed on a forbidden create, or an Event that could
   * not be recorded.
   */
  private static List<String> operatorWarningsAbout(LocalCluster cluster) {
    return cluster
        .kubelet()
        .logs(LocalCluster.OPERATOR_NAMESPACE, LocalCluster.RELEASE)
        .lines()
        .filter(line -> line.contains(NS))
        .filter(
            line ->
                line.contains(" ERROR ")
                    || (line.contains(" WARN ")
                        && (line.contains("forbidden") || line.contains("could not record event"))))
        .toList();
  }
}
