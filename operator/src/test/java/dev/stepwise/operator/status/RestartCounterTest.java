package dev.stepwise.operator.status;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.stepwise.api.ObservedPod;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class RestartCounterTest {

  private static ObservedPod pod(String uid, String revision, int restarts) {
    return new ObservedPod("r-trainer-0", uid, "trainer", revision, restarts);
  }

  @Test
  void containerRestartsCountOnceEach() {
    var first = RestartCounter.count(null, List.of(), List.of(pod("a", "v1", 0)), Set.of());
    assertEquals(0, first.restarts());
    var crashed =
        RestartCounter.count(first.restarts(), first.pods(), List.of(pod("a", "v1", 2)), Set.of());
    assertEquals(2, crashed.restarts());
    var same =
        RestartCounter.count(
            crashed.restarts(), crashed.pods(), List.of(pod("a", "v1", 2)), Set.of());
    assertEquals(2, same.restarts(), "seen before: not counted again");
    var finished =
        RestartCounter.count(same.restarts(), same.pods(), List.of(pod("a", "v1", 3)), Set.of("a"));
    assertEquals(2, finished.restarts(), "a restart after a clean exit is no recovery");
  }

  @Test
  void aLostPodReplacedBySameRevisionCountsButARolloutOrScaleDownDoesNot() {
    var before = List.of(pod("a", "v1", 1));
    assertEquals(
        4, RestartCounter.count(3, before, List.of(pod("b", "v1", 0)), Set.of()).restarts());
    assertEquals(
        3, RestartCounter.count(3, before, List.of(pod("b", "v2", 0)), Set.of()).restarts());
    assertEquals(3, RestartCounter.count(3, before, List.of(), Set.of()).restarts());
  }
}
