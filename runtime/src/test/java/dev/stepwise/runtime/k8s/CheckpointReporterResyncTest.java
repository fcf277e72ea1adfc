package dev.stepwise.runtime.k8s;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stepwise.api.Checkpoint;
import dev.stepwise.api.CheckpointPhase;
import dev.stepwise.api.Constants;
import dev.stepwise.runtime.checkpoint.CheckpointStore;
import dev.stepwise.runtime.checkpoint.Manifest;
import dev.stepwise.runtime.checkpoint.RunLayout;
import dev.stepwise.runtime.log.LogCapture;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.URLEncoder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Resync of the Checkpoint resources with the run volume, against the Fabric8 mock API server. */
@EnableKubernetesMockClient(crud = true)
class CheckpointReporterResyncTest {

  private static final String NS = "team-a";
  private static final RunIdentity RUN = new RunIdentity("r", NS, "uid-1");

  KubernetesClient client;
  KubernetesMockServer server;

  @TempDir Path runDir;

  private RunLayout layout;
  private CheckpointStore store;
  private CheckpointReporter reporter;
  private LogCapture logged;

  @BeforeEach
  void setUp() {
    var crd =
        client
            .apiextensions()
            .v1()
            .customResourceDefinitions()
            .load(Path.of("../helm/stepwise/crds/checkpoints.stepwise.dev-v1.yml").toFile())
            .item();
    client.resource(crd).createOr(existing -> existing.update());
    layout = new RunLayout(runDir);
    store = new CheckpointStore(layout);
    logged = LogCapture.of(CheckpointReporter.class.getName());
    reporter = new CheckpointReporter(client, RUN, layout);
  }

  @AfterEach
  void tearDown() {
    logged.close();
  }

  @Test
  void completeCheckpointsWithoutAResourceAreReportedAndNothingElse() throws IOException {
    var five = writeCheckpoint(5, 0);
    writeCheckpoint(10, 0);
    Files.createDirectories(layout.componentDir(15, RunLayout.TRAINER)); // a save that never ended
    reporter.report(five);
    var fiveBefore = checkpoint(5).getMetadata().getResourceVersion();

    var reported = reporter.resync(store);

    assertEquals(List.of(10L), reported);
    var ten = checkpoint(10);
    assertEquals(CheckpointPhase.Ready, ten.getStatus().getPhase());
    assertEquals(0L, ten.getStatus().getTimeline());
    assertEquals(3L, ten.getStatus().getSizeBytes());
    assertEquals("r", ten.getSpec().getTrainingRun());
    assertEquals("r", ten.getMetadata().getLabels().get(Constants.LABEL_TRAINING_RUN));
    assertEquals("uid-1", ten.getMetadata().getOwnerReferences().get(0).getUid());
    assertTrue(ten.getMetadata().getFinalizers().contains(Constants.CHECKPOINT_FINALIZER));
    assertEquals(fiveBefore, checkpoint(5).getMetadata().getResourceVersion(), "5 untouched");
    assertNull(checkpoint(15), "an incomplete step directory is no checkpoint");
  }

  @Test
  void aResourceLeftWithoutStatusOrFromAnotherTimelineIsReportedAgain() throws IOException {
    var five = writeCheckpoint(5, 2);
    var ten = writeCheckpoint(10, 2);
    // Crash between creating the resource and writing its status:
    client.resources(Checkpoint.class).inNamespace(NS).resource(reporter.resource(five)).create();
    // Step 10 was reported by timeline 1, then rewritten by timeline 2 whose report was lost:
    reporter.report(withTimeline(ten, 1));
    assertEquals(1L, checkpoint(10).getStatus().getTimeline());

    var reported = reporter.resync(store);

    assertEquals(List.of(5L, 10L), reported);
    assertEquals(CheckpointPhase.Ready, checkpoint(5).getStatus().getPhase());
    assertEquals(2L, checkpoint(5).getStatus().getTimeline());
    assertEquals(2L, checkpoint(10).getStatus().getTimeline());
  }

  @Test
  void aCheckpointWhoseResourceIsBeingDeletedIsNotResurrected() throws IOException {
    var five = writeCheckpoint(5, 0);
    reporter.report(five);
    client.resources(Checkpoint.class).inNamespace(NS).withName("r-step-5").delete();
    var deleting = checkpoint(5);
    assertNotNull(deleting.getMetadata().getDeletionTimestamp(), "the finalizer holds it");

    var reported = reporter.resync(store);

    assertEquals(List.of(), reported);
    var after = checkpoint(5);
    assertEquals(
        deleting.getMetadata().getResourceVersion(), after.getMetadata().getResourceVersion());
    assertTrue(logged.out().contains("is being deleted"), logged::out);
  }

  @Test
  void theStartResyncIsTriedAgainWhileTheApiServerRefusesIt() throws IOException {
    writeCheckpoint(5, 0);
    // A pod may start before the operator has bound its Role: the first listing is refused.
    server
        .expect()
        .get()
        .withPath(
            "/apis/stepwise.dev/v1alpha1/namespaces/%s/checkpoints?labelSelector=%s"
                .formatted(NS, URLEncoder.encode(Constants.LABEL_TRAINING_RUN + "=r", UTF_8)))
        .andReturn(HttpURLConnection.HTTP_FORBIDDEN, "{}")
        .once();

    reporter.resyncWithRetries(store);

    assertEquals(CheckpointPhase.Ready, checkpoint(5).getStatus().getPhase());
    assertTrue(logged.out().contains("try 1 failed, retrying"), logged::out);
  }

  @Test
  void checkpointsOfAnotherRunInTheNamespaceDoNotCount() throws IOException {
    var five = writeCheckpoint(5, 0);
    var other = new CheckpointReporter(client, new RunIdentity("other", NS, "uid-2"), layout);
    other.report(five);

    assertEquals(List.of(5L), reporter.resync(store));
    assertEquals("r", checkpoint(5).getSpec().getTrainingRun());
  }

  private Checkpoint checkpoint(long step) {
    return client
        .resources(Checkpoint.class)
        .inNamespace(NS)
        .withName(RUN.checkpointName(step))
        .get();
  }

  /** A complete checkpoint: one 3-byte trainer file and its manifest, written last. */
  private Manifest writeCheckpoint(long step, long timeline) throws IOException {
    var file = layout.componentDir(step, RunLayout.TRAINER).resolve("model.bin");
    Files.createDirectories(file.getParent());
    Files.write(file, new byte[] {1, 2, 3});
    var manifest =
        new Manifest(
            Manifest.FORMAT,
            Manifest.FORMAT_VERSION,
            step,
            1,
            "2026-01-01T00:00:0" + (step % 10) + "Z",
            Map.of(
                RunLayout.TRAINER,
                new Manifest.Component(
                    List.of(new Manifest.FileEntry("trainer/model.bin", 3, "00")))),
            timeline,
            null,
            null);
    new ObjectMapper().writeValue(layout.manifest(step).toFile(), manifest);
    return manifest;
  }

  private static Manifest withTimeline(Manifest m, long timeline) {
    return new Manifest(
        m.format(),
        m.formatVersion(),
        m.step(),
        m.worldSize(),
        m.created(),
        m.components(),
        timeline,
        null,
        null);
  }
}
