package dev.stepwise.operator.status;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import dev.stepwise.api.ObservedPod;
import dev.stepwise.api.RunPhase;
import dev.stepwise.api.RunProgress;
import dev.stepwise.api.TrainingRunStatus;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.util.List;
import org.junit.jupiter.api.Test;

class RunStatusWriterTest {

  private static final KubernetesSerialization JSON = new KubernetesSerialization();

  @Test
  void aFirstStatusIsAddedWhole() {
    var next = status(RunPhase.Pending);

    assertEquals(
        "[{\"op\":\"add\",\"path\":\"/status\",\"value\":{\"phase\":\"Pending\"}}]",
        ops(null, next));
  }

  @Test
  void thePatchStartsFromTheServersStatusNotFromTheCache() {
    // The server dropped pods already (the operator's own last write, not yet in its cache):
    // "remove /status/pods" would be refused; from the server's copy nothing is left to do.
    var server = json("{\"phase\":\"Succeeded\",\"step\":2000}");
    var next = status(RunPhase.Succeeded);
    next.setStep(2000L);

    assertEquals("[]", ops(server, next));

    var pod = new ObservedPod();
    pod.setName("r-trainer-0");
    next.setPods(List.of(pod));
    assertEquals(
        "[{\"op\":\"add\",\"path\":\"/status/pods\",\"value\":[{\"name\":\"r-trainer-0\"}]}]",
        ops(server, next));
  }

  @Test
  void progressIsTheServersEvenWhenTheCacheHadAnOlderOne() {
    var server = json("{\"phase\":\"Running\",\"progress\":{\"step\":90}}");
    var next = status(RunPhase.Running);
    var stale = new RunProgress();
    stale.setStep(40L);
    next.setProgress(stale);

    assertEquals("[]", ops(server, next));
    assertEquals("[]", ops(server, status(RunPhase.Running)), "a status without progress");
  }

  @Test
  void anUnchangedConditionKeepsTheServersTransitionTime() {
    var server =
        json(
            "{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\","
                + "\"reason\":\"AsExpected\",\"lastTransitionTime\":\"2026-12-07T10:00:00Z\"}]}");
    var next = status(RunPhase.Running);
    next.setConditions(List.of(condition("True", "AsExpected", "2026-12-07T10:00:05Z")));

    assertEquals("[]", ops(server, next));

    next.setConditions(List.of(condition("False", "PodsFailing", "2026-12-07T10:00:05Z")));
    var changed = ops(server, next);
    assertEquals(
        true,
        changed.contains("\"path\":\"/status/conditions/0/lastTransitionTime\"")
            && changed.contains("2026-12-07T10:00:05Z"),
        changed);
  }

  private static String ops(JsonNode server, TrainingRunStatus next) {
    return RunStatusWriter.patch(JSON, server, next).toString();
  }

  private static JsonNode json(String text) {
    return JSON.unmarshal(text, JsonNode.class);
  }

  private static TrainingRunStatus status(RunPhase phase) {
    var status = new TrainingRunStatus();
    status.setPhase(phase);
    return status;
  }

  private static Condition condition(String status, String reason, String time) {
    var condition = new Condition();
    condition.setType("Ready");
    condition.setStatus(status);
    condition.setReason(reason);
    condition.setLastTransitionTime(time);
    return condition;
  }
}
