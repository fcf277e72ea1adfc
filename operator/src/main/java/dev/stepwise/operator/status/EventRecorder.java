package dev.stepwise.operator.status;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.net.HttpURLConnection;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.UUID;
import org.jboss.logging.Logger;

/**
 * Records Kubernetes Events on a TrainingRun or a Checkpoint. The same reason and message on the
 * same object make one Event whose count goes up, as kubectl's own recorder does, instead of a new
 * object each time.
 */
public class EventRecorder {

  private static final Logger LOG = Logger.getLogger(EventRecorder.class);
  static final String COMPONENT = "stepwise-operator";

  public void record(
      KubernetesClient client, HasMetadata object, EventReason reason, String message) {
    var namespace = object.getMetadata().getNamespace();
    var name = eventName(object, reason, message);
    var now = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
    try {
      var events = client.v1().events().inNamespace(namespace);
      try {
        // Most events happen once: create first, and read only when it already exists.
        events.resource(newEvent(object, name, reason, message, now)).create();
      } catch (KubernetesClientException e) {
        if (e.getCode() != HttpURLConnection.HTTP_CONFLICT) {
          throw e;
        }
        var existing = events.withName(name).get();
        if (existing == null) {
          throw e; // expired between the create and the read: the next occurrence creates it
        }
        // Patch from the object just read: edit() by name would read it again.
        events
            .resource(existing)
            .edit(
                old ->
                    new EventBuilder(old)
                        .withCount(old.getCount() == null ? 2 : old.getCount() + 1)
                        .withLastTimestamp(now)
                        .build());
      }
    } catch (RuntimeException e) {
      // An event is a courtesy to humans: never fail a reconcile because of one. In a namespace
      // being deleted none can be recorded, and nobody is left to read it.
      LOG.logf(
          ErrorMessages.isNamespaceTerminating(e) ? Logger.Level.DEBUG : Logger.Level.WARN,
          e,
          "could not record event %s on %s %s/%s",
          reason,
          object.getKind(),
          namespace,
          object.getMetadata().getName());
    }
  }

  static String eventName(HasMetadata object, EventReason reason, String message) {
    var key = object.getMetadata().getUid() + "/" + reason + "/" + message;
    var id = UUID.nameUUIDFromBytes(key.getBytes(StandardCharsets.UTF_8)).toString();
    return object.getMetadata().getName() + "." + id.substring(0, 13).replace("-", "");
  }

  private static Event newEvent(
      HasMetadata object, String name, EventReason reason, String message, String now) {
    return new EventBuilder()
        .withNewMetadata()
        .withName(name)
        .withNamespace(object.getMetadata().getNamespace())
        .endMetadata()
        .withInvolvedObject(
            new ObjectReferenceBuilder()
                .withApiVersion(object.getApiVersion())
                .withKind(object.getKind())
                .withName(object.getMetadata().getName())
                .withNamespace(object.getMetadata().getNamespace())
                .withUid(object.getMetadata().getUid())
                .withResourceVersion(object.getMetadata().getResourceVersion())
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
