package dev.stepwise.operator.status;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.stepwise.api.TrainingRun;
import dev.stepwise.api.TrainingRunStatus;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.fabric8.zjsonpatch.DiffFlags;
import io.fabric8.zjsonpatch.JsonDiff;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import java.util.ArrayList;
import java.util.Optional;

/**
 * Writes the operator's part of a TrainingRun's status as a JSON Patch from the status the API
 * server holds now (read just before, as it is) to the new one, never from the operator's cache.
 *
 * <p>JOSDK's {@code UpdateControl.patchStatus} diffs against the cache; one write behind (right
 * after an API server restart, before the watch has brought the operator's own last write) its
 * "remove /status/pods" for pods the server had already dropped was answered 422, in a loop until
 * the watch caught up. Against the server's copy the patch applies, and is not sent at all when the
 * server already holds the new status. Two rules keep a reconcile that computed from a stale cache
 * from undoing what the server has: {@code progress} is the server's (the trainer writes it), and a
 * condition whose status did not change keeps the server's {@code lastTransitionTime}.
 */
public final class RunStatusWriter {

  private static final String STATUS = "status";
  private static final String PROGRESS = "progress";
  private static final String CONDITIONS = "conditions";
  private static final String LAST_TRANSITION_TIME = "lastTransitionTime";

  private RunStatusWriter() {}

  /**
   * Makes {@code next} the status of {@code run}; through JOSDK's resource operations, so that the
   * operator's own write is cached and not taken for somebody else's change. No write when the
   * server's status already is {@code next}.
   *
   * @return the status the server held before this write, which the transitions to report are taken
   *     from (a stale cache would report a transition twice); empty when nothing was written
   */
  public static Optional<TrainingRunStatus> write(
      Context<TrainingRun> context, TrainingRun run, TrainingRunStatus next) {
    var client = context.getClient();
    var json = client.getKubernetesSerialization();
    var namespace = run.getMetadata().getNamespace();
    var name = run.getMetadata().getName();
    var before = serverStatus(client, namespace, name);
    var patch = patch(json, before, next);
    if (patch.isEmpty()) {
      return Optional.empty();
    }
    var body = json.asJson(patch);
    context
        .resourceOperations()
        .resourcePatch(
            run,
            r ->
                // On the run itself, not by name: by name, Fabric8 7.5.2 reads the object again
                // before it sends a patch given as text.
                client
                    .resources(TrainingRun.class)
                    .inNamespace(namespace)
                    .resource(run)
                    .subresource(STATUS)
                    .patch(PatchContext.of(PatchType.JSON), body),
            context.eventSourceRetriever().getControllerEventSource());
    return Optional.of(
        before == null
            ? new TrainingRunStatus()
            : json.convertValue(before, TrainingRunStatus.class));
  }

  /** The run's status exactly as the API server holds it (null when it has none). */
  private static JsonNode serverStatus(KubernetesClient client, String namespace, String name) {
    var raw =
        client
            .genericKubernetesResources(
                HasMetadata.getApiVersion(TrainingRun.class),
                HasMetadata.getKind(TrainingRun.class))
            .inNamespace(namespace)
            .withName(name)
            .require();
    var status = raw.getAdditionalProperties().get(STATUS);
    var json = client.getKubernetesSerialization();
    return status == null ? null : json.unmarshal(json.asJson(status), JsonNode.class);
  }

  /** The JSON Patch operations from {@code server} to {@code next} under the two rules above. */
  static JsonNode patch(KubernetesSerialization json, JsonNode server, TrainingRunStatus next) {
    // Through text, so that numbers compare by value (2000 read back is an int, not a long).
    var wanted = (ObjectNode) json.unmarshal(json.asJson(next), JsonNode.class);
    wanted.remove(PROGRESS);
    if (server != null && server.has(PROGRESS)) {
      wanted.set(PROGRESS, server.get(PROGRESS));
    }
    // An empty list and no list mean the same.
    var names = new ArrayList<String>();
    wanted.fieldNames().forEachRemaining(names::add);
    for (var field : names) {
      var value = wanted.get(field);
      if (value.isArray() && value.isEmpty() && (server == null || !server.has(field))) {
        wanted.remove(field);
      }
    }
    keepTransitionTimes(server, wanted);
    var from = JsonNodeFactory.instance.objectNode();
    if (server != null) {
      from.set(STATUS, server);
    }
    var to = JsonNodeFactory.instance.objectNode().set(STATUS, wanted);
    return JsonDiff.asJson(from, to, DiffFlags.dontNormalizeOpIntoMoveAndCopy());
  }

  /** A condition whose type and status the server already holds keeps the server's time. */
  private static void keepTransitionTimes(JsonNode server, ObjectNode wanted) {
    if (server == null || !server.has(CONDITIONS) || !wanted.has(CONDITIONS)) {
      return;
    }
    for (var condition : wanted.get(CONDITIONS)) {
      for (var held : server.get(CONDITIONS)) {
        if (held.path("type").equals(condition.path("type"))
            && held.path(STATUS).equals(condition.path(STATUS))
            && held.has(LAST_TRANSITION_TIME)) {
          ((ObjectNode) condition).set(LAST_TRANSITION_TIME, held.get(LAST_TRANSITION_TIME));
        }
      }
    }
  }
}
