package dev.stepwise.operator.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.api.Checkpoint;
import dev.stepwise.api.CheckpointMetric;
import dev.stepwise.api.CheckpointPhase;
import dev.stepwise.api.KeepBestSpec;
import dev.stepwise.api.RunPhase;
import dev.stepwise.api.retention.Retention;
import dev.stepwise.api.retention.RetentionRules;
import dev.stepwise.api.retention.StoredCheckpoint;
import dev.stepwise.cluster.controlplane.AuditLog;
import dev.stepwise.operator.Fixtures;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;

/**
 * examples/sft-run.yaml's retention (keep + keepEvery + keepBest + maxBytes) and live progress on
 * the real control plane: every checkpoint the trainer reported is recorded as it appears (with its
 * metrics), and at the end exactly the ones {@link Retention} keeps over all of them are left. The
 * trainer's progress writes are counted in the audit log and printed per minute, with the {@code
 * kubectl get tr,ckpt} a user sees.
 */
class RetentionProgressE2E {

  private static final String NS = "e2e-retention";
  private static final Duration RUN = Duration.ofMinutes(8);
  private static final int PROGRESS_INTERVAL = 10;

  @Test
  void keepEveryAndKeepBestLeaveWhatTheDecisionSaysAndProgressIsLive() throws Exception {
    var cluster = RealCluster.get();
    RealCluster.namespace(NS);
    var audit = new AuditLog(cluster.controlPlane().auditLog()).mark();
    var run = Fixtures.example("sft-run.yaml", NS);
    var name = "retention";
    run.getMetadata().setName(name);
    run.getSpec().setMaxSteps(200L);
    run.getSpec().setProgressIntervalSeconds(PROGRESS_INTERVAL);
    var ckpt = run.getSpec().getCkpt();
    ckpt.setInterval(20);
    ckpt.setKeep(2);
    ckpt.setKeepEvery(60);
    ckpt.setKeepBest(new KeepBestSpec(CheckpointMetric.loss, null, 1));
    var rules = RetentionRules.of(ckpt);

    // Every Checkpoint ever reported Ready, with its metrics: retention deletes most of them.
    var seen = new ConcurrentHashMap<Long, StoredCheckpoint>();
    var client = cluster.client();
    var informer =
        client
            .resources(Checkpoint.class)
            .inNamespace(NS)
            .inform(
                new ResourceEventHandler<>() {
                  @Override
                  public void onAdd(Checkpoint c) {
                    record(c);
                  }

                  @Override
                  public void onUpdate(Checkpoint old, Checkpoint c) {
                    record(c);
                  }

                  @Override
                  public void onDelete(Checkpoint c, boolean unknown) {}

                  private void record(Checkpoint c) {
                    var status = c.getStatus();
                    if (status != null
                        && status.getPhase() == CheckpointPhase.Ready
                        && status.getMetrics() != null) {
                      seen.putIfAbsent(
                          c.getSpec().getStep(),
                          new StoredCheckpoint(
                              c.getSpec().getStep(),
                              status.getCompletedAt(),
                              status.getSizeBytes(),
                              status.getMetrics(),
                              false));
                    }
                  }
                });
    try {
      var tr = new E2eRun(client, NS, name, RUN, () -> cluster.kubelet().logTails(NS, 30));
      var kubectl = new Kubectl(cluster, NS, RUN);
      var started = System.nanoTime();
      client.resource(run).create();

      var live =
          tr.awaitStatus(
              t ->
                  t.getStatus().getProgress() != null
                      && t.getStatus().getProgress().getStep() != null
                      && t.getStatus().getPhase() != RunPhase.Succeeded,
              "live progress while training");
      var midRun = kubectl.run("get", "tr,ckpt");
      tr.awaitStatus(t -> t.getStatus().getPhase() == RunPhase.Succeeded, "Succeeded");
      var trained = (System.nanoTime() - started) / 1e9;

      var steps = new java.util.ArrayList<Long>();
      for (long s = 20; s <= 200; s += 20) {
        steps.add(s);
      }
      tr.awaitTrue(() -> seen.keySet().containsAll(steps), "every checkpoint seen Ready");
      var expected =
          Retention.decide(rules, seen.values(), Set.of()).kept().keySet().stream()
              .sorted()
              .toList();
      tr.awaitTrue(() -> tr.readySteps().equals(expected), "retention leaves " + expected);
      tr.awaitTrue(
          () -> tr.checkpoints().size() == expected.size(), "the retired ones' cleanup is done");
      assertTrue(expected.containsAll(java.util.List.of(60L, 120L, 180L, 200L)), "" + expected);

      var done = tr.get();
      var progress = done.getStatus().getProgress();
      assertNotNull(progress, "the trainer's progress survives the operator's status writes");
      assertEquals(200L, progress.getStep(), "the trainer's last write is the final step");
      assertTrue(progress.getSummary().startsWith("200/200"), progress.getSummary());
      assertTrue(progress.getDiskUsedBytes() > 0 && progress.getDiskCapacityBytes() > 0);
      var withMetrics = tr.checkpoint(200).getStatus().getMetrics();
      assertNotNull(withMetrics.getLoss(), "Checkpoint status.metrics.loss");
      assertTrue(withMetrics.getTokens() > 0 && withMetrics.getSamples() > 0);

      var trainer = "system:serviceaccount:" + NS + ":" + name + "-runtime";
      var progressWrites =
          audit.take().stream()
              .filter(AuditLog.Request::isWrite)
              .filter(r -> r.user().equals(trainer))
              .filter(r -> "trainingruns/status".equals(r.what()))
              .toList();
      var refused = progressWrites.stream().filter(r -> r.code() >= 400).toList();
      assertEquals(java.util.List.of(), refused, "no progress write was refused (RBAC, 409...)");
      var perMinute = progressWrites.size() * 60.0 / trained;
      // The first write (after step 1), at most one per interval after it, and the final one.
      var allowed = (long) (trained / PROGRESS_INTERVAL) + 2;
      assertTrue(
          progressWrites.size() <= allowed,
          "%d progress writes over %.0f s, at most %d with a %d s interval"
              .formatted(progressWrites.size(), trained, allowed, PROGRESS_INTERVAL));
      assertTrue(progressWrites.size() >= 2, "progress written while training and at the end");

      var finalView = kubectl.run("get", "tr,ckpt");
      assertTrue(finalView.contains("LOSS") && finalView.contains("PROGRESS"), finalView);
      assertTrue(finalView.contains("200/200"), finalView);
      System.out.printf(
          "BENCHMARK retention-progress-e2e: %d steps in %.0f s; checkpoints reported %s, kept %s"
              + " (keep 2, keepEvery 60, keepBest loss 1); %d progress writes by %s = %.2f/min at"
              + " a %d s interval (live step %d seen mid-run)%n",
          200,
          trained,
          new TreeMap<>(seen).keySet(),
          expected,
          progressWrites.size(),
          trainer,
          perMinute,
          PROGRESS_INTERVAL,
          live.getStatus().getProgress().getStep());
      System.out.println("KUBECTL mid-run:\n$ kubectl get tr,ckpt\n" + midRun);
      System.out.println("KUBECTL final:\n$ kubectl get tr,ckpt\n" + finalView);
      System.out.println("LOSSES at the checkpoints: " + losses(seen));
    } finally {
      informer.close();
    }
  }

  private static Map<Long, Double> losses(Map<Long, StoredCheckpoint> seen) {
    var losses = new TreeMap<Long, Double>();
    seen.forEach((step, c) -> losses.put(step, c.metrics().getLoss()));
    return losses;
  }
}
