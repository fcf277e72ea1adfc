package dev.stepwise.runtime.k8s;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stepwise.api.RunProgress;
import dev.stepwise.api.TrainingRun;
import dev.stepwise.api.TrainingRunSpec;
import dev.stepwise.runtime.log.LogCapture;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.http.BasicBuilder;
import io.fabric8.kubernetes.client.http.HttpRequest;
import io.fabric8.kubernetes.client.http.Interceptor;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Live progress in status.progress, against the Fabric8 mock API server. */
@EnableKubernetesMockClient(crud = true)
class ProgressReporterTest {

  private static final String NS = "team-a";
  private static final RunIdentity RUN = new RunIdentity("r", NS, "uid-1");
  private static final ObjectMapper JSON = new ObjectMapper();

  KubernetesClient client;
  KubernetesMockServer server;

  @TempDir Path runDir;

  private LogCapture logged;
  private final AtomicInteger counted = new AtomicInteger();

  @AfterEach
  void stopCapturing() {
    logged.close();
  }

  @BeforeEach
  void setUp() throws InterruptedException {
    logged = LogCapture.of(ProgressReporter.class.getName());
    var crd =
        client
            .apiextensions()
            .v1()
            .customResourceDefinitions()
            .load(Path.of("../helm/stepwise/crds/trainingruns.stepwise.dev-v1.yml").toFile())
            .item();
    client.resource(crd).createOr(existing -> existing.update());
    var run = new TrainingRun();
    run.setMetadata(new ObjectMetaBuilder().withName("r").withNamespace(NS).build());
    var spec = new TrainingRunSpec();
    spec.setMaxSteps(100L);
    run.setSpec(spec);
    client.resource(run).create();
    while (server.takeRequest(10, TimeUnit.MILLISECONDS) != null) {
      // only the reporter's requests count below
    }
  }

  private ProgressReporter reporter(double intervalSeconds) {
    return new ProgressReporter(
        client,
        RUN,
        Duration.ofMillis((long) (intervalSeconds * 1000)),
        runDir,
        counted::incrementAndGet);
  }

  private static RunProgress progress(long step) {
    var p = new RunProgress();
    p.setStep(step);
    p.setSummary(step + "/100 (" + step + "%)");
    p.setLoss(1.0 / step);
    p.setTokensPerSecond(1000.0);
    p.setEta("1m40s");
    return p;
  }

  private List<RecordedRequest> patches() throws InterruptedException {
    var patches = new ArrayList<RecordedRequest>();
    RecordedRequest request;
    while ((request = server.takeRequest(10, TimeUnit.MILLISECONDS)) != null) {
      if (request.getMethod().equals("PATCH")) {
        patches.add(request);
      }
    }
    return patches;
  }

  private RunProgress stored() {
    var run = client.resources(TrainingRun.class).inNamespace(NS).withName("r").get();
    return run.getStatus() == null ? null : run.getStatus().getProgress();
  }

  @Test
  void atMostOneWritePerIntervalThenTheLatestOnClose() throws InterruptedException {
    var interval = 0.4;
    var reporter = reporter(interval);
    var start = System.nanoTime();
    var step = 0L;
    // A fast training loop: a new step every 5 ms for 1.5 s (300 offers).
    while (System.nanoTime() - start < 1_500_000_000L) {
      reporter.offer(progress(++step));
      Thread.sleep(5);
    }
    reporter.close();
    var elapsed = (System.nanoTime() - start) / 1e9;

    var writes = patches().size();
    assertEquals(writes, reporter.writes());
    assertEquals(writes, counted.get());
    var periodicBound = 1 + (int) Math.floor(elapsed / interval);
    assertTrue(
        writes >= 3 && writes <= periodicBound + 1,
        writes + " writes in " + elapsed + " s at most every " + interval + " s, plus the final");
    assertEquals(step, stored().getStep(), "the final write carries the last step");
    assertTrue(logged.out().contains("live progress: " + writes + " status writes in"));
  }

  @Test
  void nothingIsWrittenWhenNothingChanged() {
    var reporter = reporter(0.1);
    reporter.offer(progress(5));
    await().atMost(Duration.ofSeconds(10)).until(() -> reporter.writes() == 1);
    var deadline = System.nanoTime() + 600_000_000L;
    await()
        .during(Duration.ofMillis(600))
        .atMost(Duration.ofSeconds(5))
        .until(
            () -> {
              if (System.nanoTime() < deadline) {
                reporter.offer(progress(5)); // the same progress, a new object
              }
              return reporter.writes() == 1;
            });
    reporter.close();
    assertEquals(1, reporter.writes(), "no final write of what is already there");
  }

  /** A request as the client sent it (the mock server's record loses the body). */
  private record Sent(String method, String path, String body) {}

  @Test
  void theBodyIsAMergePatchOfStatusProgressAlone() throws Exception {
    var sent = new CopyOnWriteArrayList<Sent>();
    Interceptor recorder =
        new Interceptor() {
          @Override
          public void before(BasicBuilder builder, HttpRequest request, RequestTags tags) {
            sent.add(new Sent(request.method(), request.uri().getPath(), request.bodyString()));
          }
        };
    var recording =
        new KubernetesClientBuilder()
            .withConfig(client.getConfiguration())
            .withHttpClientBuilderConsumer(b -> b.addOrReplaceInterceptor("record", recorder))
            .build();
    var reporter =
        new ProgressReporter(
            recording, RUN, Duration.ofSeconds(30), runDir, counted::incrementAndGet);
    var progress = progress(7);
    progress.setMeanReward(0.5);
    reporter.offer(progress);
    await().atMost(Duration.ofSeconds(10)).until(() -> reporter.writes() == 1);

    assertEquals(1, sent.size(), sent.toString());
    var patch = sent.get(0);
    assertEquals("PATCH", patch.method());
    assertEquals(
        "/apis/stepwise.dev/v1alpha1/namespaces/team-a/trainingruns/r/status", patch.path());
    var received = patches();
    assertEquals(1, received.size());
    var contentType = received.get(0).getHeader("Content-Type");
    assertTrue(contentType.startsWith("application/merge-patch+json"), contentType);
    var body = JSON.readTree(patch.body());
    assertEquals(List.of("status"), names(body));
    assertEquals(List.of("progress"), names(body.get("status")));
    var written = body.get("status").get("progress");
    assertEquals(7, written.get("step").asLong());
    assertEquals("7/100 (7%)", written.get("summary").asText());
    assertTrue(written.get("diskCapacityBytes").asLong() > 0, written.toString());
    assertTrue(written.get("diskUsedBytes").asLong() > 0, written.toString());
    assertTrue(written.get("updatedAt").asText().endsWith("Z"), written.toString());
    assertTrue(
        written.has("evalAccuracy") && written.get("evalAccuracy").isNull(), "absent as null");

    var stored = stored();
    assertEquals(7L, stored.getStep());
    assertEquals(0.5, stored.getMeanReward());
    assertEquals(
        100,
        client
            .resources(TrainingRun.class)
            .inNamespace(NS)
            .withName("r")
            .get()
            .getSpec()
            .getMaxSteps());

    // A later progress without a reward removes the old one (merge patch with null).
    reporter.offer(progress(8));
    reporter.close();
    recording.close();
    assertEquals(8L, stored().getStep());
    assertNull(stored().getMeanReward());
    assertEquals(2, sent.size(), "two writes, and nothing else, not even a read");
  }

  @Test
  void anUnreachableApiServerNeverHoldsUpTraining() throws Exception {
    int closed;
    try (var socket = new ServerSocket(0)) {
      closed = socket.getLocalPort();
    }
    var config =
        new ConfigBuilder()
            .withMasterUrl("http://127.0.0.1:" + closed)
            .withRequestRetryBackoffLimit(0)
            .withConnectionTimeout(1000)
            .withRequestTimeout(1000)
            .build();
    var unreachable = new KubernetesClientBuilder().withConfig(config).build();
    var reporter = new ProgressReporter(unreachable, RUN, Duration.ofMillis(50), runDir, () -> {});
    var start = System.nanoTime();
    for (var step = 1; step <= 1000; step++) {
      reporter.offer(progress(step));
    }
    var offering = (System.nanoTime() - start) / 1e9;
    assertTrue(offering < 1, "1000 offers took " + offering + " s");
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> logged.out().contains("could not write status.progress"));
    var closing = System.nanoTime();
    reporter.close();
    var closeSeconds = (System.nanoTime() - closing) / 1e9;
    assertTrue(closeSeconds < 16, "close took " + closeSeconds + " s");
    assertEquals(0, reporter.writes());
    assertFalse(
        logged.out().indexOf("could not write status.progress")
            != logged.out().lastIndexOf("could not write status.progress"),
        "one warning per failure streak\n" + logged.out());
  }

  @Test
  void onlyRankZeroOfAPodWithAPositiveIntervalReports() {
    var pod = java.util.Map.of("STEPWISE_TRAINING_RUN", "r", "STEPWISE_NAMESPACE", NS);
    assertTrue(
        ProgressReporter.fromEnvironment(java.util.Map.of(), 30, runDir, () -> {}).isEmpty(),
        "locally");
    assertTrue(ProgressReporter.fromEnvironment(pod, 0, runDir, () -> {}).isEmpty(), "off");
    var rank1 = new java.util.HashMap<>(pod);
    rank1.put("RANK", "1");
    assertTrue(ProgressReporter.fromEnvironment(rank1, 30, runDir, () -> {}).isEmpty());
  }

  private static List<String> names(com.fasterxml.jackson.databind.JsonNode node) {
    var names = new ArrayList<String>();
    node.fieldNames().forEachRemaining(names::add);
    return names;
  }
}
