package dev.stepwise.operator.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.api.RunPhase;
import dev.stepwise.api.TrainingRun;
import dev.stepwise.cluster.LocalCluster;
import dev.stepwise.cluster.controlplane.AuditLog;
import dev.stepwise.operator.Fixtures;
import dev.stepwise.operator.e2e.FaultProxy.Exchange;
import dev.stepwise.operator.e2e.FaultProxy.Fault;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * A fault: API errors between the operator and the API server. The chart is upgraded so that the
 * operator reaches the API server only through a {@link FaultProxy} (seeded: {@code
 * -Dstepwise.fault.seed} replays the odds, {@code -Dstepwise.fault.scale} multiplies them), which
 * answers some requests with 500 or 429 (with {@code Retry-After}), some writes with 409 without
 * forwarding them, drops watch connections and delays responses, while an sft and an rl run train,
 * checkpoint and enforce retention and the sft run is resumed by a spec patch. Both runs Succeed
 * with status converged (Ready Checkpoints are the complete checkpoints on the volume), each object
 * is created once, the API server received exactly the writes the proxy forwarded, the operator
 * retries a write no sooner than its 1 s backoff and the 429's {@code Retry-After}, its request
 * rate stays bounded, and once the faults stop it writes nothing in an idle window ({@code
 * -Dstepwise.idle.seconds}, default 30). The chart is put back afterwards.
 */
class ApiFaultsE2E {

  private static final String NS = "e2e-apifaults";
  private static final Duration WAIT = Duration.ofMinutes(5);
  private static final long SFT_STEPS = 40;
  private static final long RL_STEPS = 6;

  private static final FaultProxy.Odds ODDS =
      new FaultProxy.Odds(
          0.05, 0.05, 0.10, 0.30, 0.10, Duration.ofMillis(1500), Duration.ofSeconds(8), 1);

  /**
   * The operator client's first retry interval ({@code
   * quarkus.kubernetes-client.request-retry-backoff-interval}; Fabric8's default is 100 ms).
   */
  private static final Duration FIRST_BACKOFF = Duration.ofSeconds(1);

  /** A generous bound on the operator's requests (watches too) per run and minute of training. */
  private static final double MAX_REQUESTS_PER_RUN_MINUTE = 600;

  private static final Set<Fault> ANSWERED_BY_THE_PROXY =
      Set.of(Fault.SERVER_ERROR, Fault.TOO_MANY_REQUESTS, Fault.CONFLICT);

  @Test
  void apiErrorsAreRetriedWithBackoffWithoutAHotLoopAndStatusConverges() throws Exception {
    var seed = Long.getLong("stepwise.fault.seed", System.nanoTime());
    var odds = ODDS.times(Double.parseDouble(System.getProperty("stepwise.fault.scale", "1")));
    System.out.printf("api-faults-e2e: seed %d, %s%n", seed, odds);
    var cluster = RealCluster.get();
    RealCluster.namespace(NS);
    var client = cluster.client();
    var kubelet = cluster.kubelet();
    var audit = new AuditLog(cluster.controlPlane().auditLog()).mark();
    try (var proxy = FaultProxy.start(cluster.controlPlane(), odds, seed)) {
      try {
        OperatorChart.upgrade(
            cluster,
            Map.of(
                "leaderElection.enabled", "false",
                "extraEnv[0].name", "KUBERNETES_MASTER",
                "extraEnv[0].value", proxy.url()));
        OperatorChart.awaitOperators(cluster, 1);
        var operatorPod = kubelet.processes(LocalCluster.OPERATOR_NAMESPACE).firstKey();
        Supplier<String> diagnostics =
            () ->
                kubelet.logTails(NS, 20)
                    + "\n"
                    + kubelet.logTails(LocalCluster.OPERATOR_NAMESPACE, 40)
                    + "\nfaults "
                    + proxy.faults()
                    + seedNote(seed);

        var start = System.nanoTime();
        var sft = create(cluster, sftRun(), diagnostics);
        var rl = create(cluster, rlRun(), diagnostics);
        var done =
            sft.awaitStatus(
                t ->
                    t.getStatus().getPhase() == RunPhase.Succeeded
                        && Long.valueOf(SFT_STEPS).equals(t.getStatus().getLatestCheckpoint()),
                "Succeeded at " + SFT_STEPS);
        var resumeStep = SFT_STEPS - 10;
        sft.awaitTrue(() -> sft.readySteps().contains(resumeStep), "Checkpoint " + resumeStep);
        sft.patchSpec(Map.of("resumeStep", resumeStep));
        var resumed = System.nanoTime();
        sft.awaitStatus(
            t ->
                Long.valueOf(resumeStep).equals(t.getStatus().getResumedFrom())
                    && t.getStatus().getTimeline() > done.getStatus().getTimeline()
                    && t.getStatus().getPhase() == RunPhase.Succeeded
                    && Long.valueOf(SFT_STEPS).equals(t.getStatus().getLatestCheckpoint())
                    && t.getStatus()
                        .getTimeline()
                        .equals(sft.checkpoint(SFT_STEPS).getStatus().getTimeline()),
            "resumed from " + resumeStep + ", Succeeded at " + SFT_STEPS + " again");
        rl.awaitStatus(
            t ->
                t.getStatus().getPhase() == RunPhase.Succeeded
                    && Long.valueOf(RL_STEPS).equals(t.getStatus().getLatestCheckpoint()),
            "Succeeded at " + RL_STEPS);
        for (var run : List.of(sft, rl)) {
          var runDir = kubelet.claimDirectory(NS, run.get().getMetadata().getName() + "-data");
          run.awaitTrue(
              () ->
                  run.readySteps().equals(E2eRun.completeSteps(runDir))
                      && run.readySteps().size() <= 2,
              "Ready Checkpoints == complete checkpoints on the volume, keep 2 held");
        }
        var converged = System.nanoTime();
        assertEquals(List.of(), failedJobs(cluster), "cleanup Jobs that failed" + seedNote(seed));

        proxy.faulty(false);
        var writes = new ArrayList<AuditLog.Request>(audit.take());
        var idle = Duration.ofSeconds(Long.getLong("stepwise.idle.seconds", 30));
        Awaitility.await()
            .alias("no operator write in " + idle.toSeconds() + " s once the faults stop")
            .during(idle)
            .atMost(idle.plusMinutes(1))
            .pollInterval(Duration.ofSeconds(1))
            .until(
                () -> {
                  var batch = audit.take();
                  writes.addAll(batch);
                  return AuditLog.countWrites(batch, LocalCluster.operatorUser()::equals) == 0;
                });

        var exchanges = proxy.exchanges();
        var operatorWrites =
            writes.stream()
                .filter(AuditLog.Request::isWrite)
                .filter(r -> r.user().equals(LocalCluster.operatorUser()))
                .filter(r -> operatorPod.equals(r.pod()))
                .toList();
        var forwardedWrites =
            exchanges.stream()
                .filter(Exchange::isWrite)
                .filter(e -> !ANSWERED_BY_THE_PROXY.contains(e.fault()) && e.status() != 502)
                .count();
        assertEquals(
            forwardedWrites,
            operatorWrites.size(),
            "the API server received exactly the writes the proxy forwarded (no injected 409,"
                + " 500 or 429 reached it)"
                + seedNote(seed));
        assertEquals(
            Map.of(),
            AuditLog.createdMoreThanOnce(operatorWrites),
            "objects the operator created more than once" + seedNote(seed));
        assertEquals(
            List.of(),
            tooSoon(exchanges),
            "writes retried sooner than the backoff" + seedNote(seed));
        var requests = exchanges.size();
        var runMinutes = 2 * (converged - start) / 6e10;
        assertTrue(
            requests / runMinutes <= MAX_REQUESTS_PER_RUN_MINUTE,
            "a hot loop: %d requests in %.1f run-minutes".formatted(requests, runMinutes)
                + seedNote(seed));
        System.out.printf(
            "BENCHMARK api-faults-e2e: seed %d; faults injected %s; operator requests %d (%d"
                + " watches, %d writes of which %d forwarded), %d retried after an injected"
                + " error, %.0f requests per run-minute; an sft run resumed and an rl run"
                + " Succeeded and converged %.1f s after create (%.1f s after the resume);"
                + " 0 operator writes in %d s once faults stopped%n",
            seed,
            proxy.faults(),
            exchanges.size(),
            exchanges.stream().filter(Exchange::isWatch).count(),
            exchanges.stream().filter(Exchange::isWrite).count(),
            forwardedWrites,
            retried(exchanges),
            requests / runMinutes,
            (converged - start) / 1e9,
            (converged - resumed) / 1e9,
            idle.toSeconds());
      } finally {
        OperatorChart.upgrade(cluster, Map.of("leaderElection.enabled", "false"));
        OperatorChart.awaitOperators(cluster, 1);
      }
    }
  }

  private static E2eRun create(
      LocalCluster cluster, TrainingRun run, Supplier<String> diagnostics) {
    cluster.client().resource(run).create();
    return new E2eRun(cluster.client(), NS, run.getMetadata().getName(), WAIT, diagnostics);
  }

  private static TrainingRun sftRun() {
    var run = Fixtures.example("sft-run.yaml", NS);
    run.getMetadata().setName("faulty-sft");
    run.getSpec().setMaxSteps(SFT_STEPS);
    run.getSpec().getCkpt().setInterval(10);
    run.getSpec().getCkpt().setKeep(2);
    E2eRun.keepAlone(run.getSpec());
    run.getSpec()
        .getTrainer()
        .setConfig(
            E2eRun.small(run.getSpec().getTrainer().getConfig())
                .replace("samples = 256", "samples = 0"));
    return run;
  }

  private static TrainingRun rlRun() {
    var run = Fixtures.rlRunAlone(NS);
    run.getMetadata().setName("faulty-rl");
    run.getSpec().setMaxSteps(RL_STEPS);
    run.getSpec().getCkpt().setInterval(2);
    run.getSpec().getCkpt().setKeep(2);
    E2eRun.keepAlone(run.getSpec());
    E2eRun.shrinkRl(run.getSpec());
    return run;
  }

  /**
   * Writes sent again (same method, target and body) sooner after an injected 500 than the client's
   * first backoff, or after a 429 sooner than its {@code Retry-After}. Only writes: two reads of
   * one target are often two callers (each Checkpoint cleanup lists its namespace's runs), and
   * Fabric8 7.5.2 starts a watch again 0.1 to 0.7 s after a failed upgrade whatever the client's
   * retry settings; reads are retried no sooner than the backoff in {@code ApiRetryIT}, and their
   * number is bounded with the writes.
   */
  private static List<String> tooSoon(List<Exchange> exchanges) {
    var wrong = new ArrayList<String>();
    for (int i = 0; i < exchanges.size(); i++) {
      var failed = exchanges.get(i);
      if (!failed.isWrite()) {
        continue;
      }
      var wait =
          switch (failed.fault()) {
            case SERVER_ERROR -> FIRST_BACKOFF;
            case TOO_MANY_REQUESTS -> Duration.ofSeconds(ODDS.retryAfterSeconds());
            default -> null;
          };
      var next = wait == null ? null : nextAlike(exchanges, i);
      if (next != null && Duration.between(failed.at(), next.at()).compareTo(wait) < 0) {
        wrong.add(
            "%s %s: %d at %s, again at %s"
                .formatted(
                    failed.method(), failed.target(), failed.status(), failed.at(), next.at()));
      }
    }
    return wrong;
  }

  /** How many injected errors were followed by the same request again. */
  private static long retried(List<Exchange> exchanges) {
    var count = 0L;
    for (int i = 0; i < exchanges.size(); i++) {
      if (ANSWERED_BY_THE_PROXY.contains(exchanges.get(i).fault())
          && nextAlike(exchanges, i) != null) {
        count++;
      }
    }
    return count;
  }

  private static Exchange nextAlike(List<Exchange> exchanges, int i) {
    var first = exchanges.get(i);
    return exchanges.stream().skip(i + 1).filter(first::sameRequest).findFirst().orElse(null);
  }

  private static List<String> failedJobs(LocalCluster cluster) {
    return cluster.client().batch().v1().jobs().inNamespace(NS).list().getItems().stream()
        .filter(j -> j.getStatus() != null && j.getStatus().getFailed() != null)
        .filter(j -> j.getStatus().getFailed() > 0)
        .map(j -> j.getMetadata().getName())
        .toList();
  }

  private static String seedNote(long seed) {
    return "\n(replay with -Dstepwise.fault.seed=" + seed + ")";
  }
}
