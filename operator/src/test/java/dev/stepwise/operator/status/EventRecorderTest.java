package dev.stepwise.operator.status;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.util.Comparator;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Events against the Fabric8 mock API server in CRUD mode. */
@EnableKubernetesMockClient(crud = true)
class EventRecorderTest {

  KubernetesClient client;

  private final EventRecorder recorder = new EventRecorder();

  @Test
  void aRepeatedEventCountsUpAndADifferentOneIsItsOwn() {
    var object =
        new ConfigMapBuilder()
            .withNewMetadata()
            .withName("run")
            .withNamespace("team-a")
            .withUid("uid-1")
            .endMetadata()
            .build();

    recorder.record(client, object, EventReason.CheckpointPruned, "deleted Checkpoint run-step-5");
    recorder.record(client, object, EventReason.CheckpointPruned, "deleted Checkpoint run-step-5");
    recorder.record(client, object, EventReason.CheckpointPruned, "deleted Checkpoint run-step-5");
    recorder.record(client, object, EventReason.CheckpointPruned, "deleted Checkpoint run-step-10");

    var events =
        client.v1().events().inNamespace("team-a").list().getItems().stream()
            .sorted(Comparator.comparing(Event::getMessage))
            .toList();
    assertEquals(
        List.of("deleted Checkpoint run-step-10", "deleted Checkpoint run-step-5"),
        events.stream().map(Event::getMessage).toList());
    assertEquals(List.of(1, 3), events.stream().map(Event::getCount).toList());
    assertEquals("uid-1", events.get(0).getInvolvedObject().getUid());
    assertEquals("Normal", events.get(0).getType());
  }
}
