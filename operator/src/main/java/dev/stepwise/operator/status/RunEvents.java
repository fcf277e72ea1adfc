package dev.stepwise.operator.status;

import dev.stepwise.api.TrainingRun;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.UUID;
import org.jboss.logging.Logger;

/**
 * Records Kubernetes Events on a run. The same reason and message on the same run make one Event
 * whose count goes up, as kubectl's own recorder does, instead of a new object each time.
 */
public class RunEvents {

  private static final Logger LOG = Logger.getLogger(RunEvents.class);
  static final String COMPONENT = "stepwise-operator";

  public void record(KubernetesClient client, TrainingRun run, EventReason reason, String message) {
    var namespace = run.getMetadata().getNamespace();
    var name = eventName(run, reason, message);
    var now = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
    try {
      var events = client.v1().events().inNamespace(namespace);
      var existing = events.withName(name).get();
      if (existing != null) {
        // Patch from the object just read: edit() by name would read it again.
        events
            .resource(existing)
            .edit(
                e ->
                    new EventBuilder(e)
                        .withCount(e.getCount() == null ? 2 : e.getCount() + 1)
                        .withLastTimestamp(now)
                        .build());
        return;
      }
      events.resource(newEvent(run, name, reason, message, now)).create();
    } catch (RuntimeException e) {
      // An event is a courtesy to humans: never fail a reconcile because of one.
      LOG.warnf(
          e,
          "could not record event %s on TrainingRun %s/%s",
          reason,
          namespace,
          run.getMetadata().getName());
    }
  }

  static String eventName(TrainingRun run, EventReason reason, String message) {
    var key = run.getMetadata().getUid() + "/" + reason + "/" + message;
    var id = UUID.nameUUIDFromBytes(key.getBytes(StandardCharsets.UTF_8)).toString();
    return run.getMetadata().getName() + "." + id.substring(0, 13).replace("-", "");
  }

  private static Event newEvent(
      TrainingRun run, String name, EventReason reason, String message, String now) {
    return new EventBuilder()
        .withNewMetadata()
        .withName(name)
        .withNamespace(run.getMetadata().getNamespace())
        .endMetadata()
        .withInvolvedObject(
            new ObjectReferenceBuilder()
                .withApiVersion(run.getApiVersion())
                .withKind(run.getKind())
                .withName(run.getMetadata().getName())
                .withNamespace(run.getMetadata().getNamespace())
                .withUid(run.getMetadata().getUid())
                .withResourceVersion(run.getMetadata().getResourceVersion())
                .build())
        .withReason(reason.name())
        .withMessage(message)
        .withType(reason.type())
        .withCount(1)
        .withFirstTimestamp(now)
        .withLastTimestamp(now)
        .withNewSource()
        .withComponent(COMPONENT)
        .endSource()
        .withReportingComponent(COMPONENT)
        .build();
  }
}
