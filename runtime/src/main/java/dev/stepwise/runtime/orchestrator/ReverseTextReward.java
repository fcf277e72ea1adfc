package dev.stepwise.runtime.orchestrator;

import dev.stepwise.runtime.data.ReverseTextTask;

/**
 * The reverse-text reward: how close a completion is to the reversed prompt, as the ratio of
 * difflib's SequenceMatcher between the completion and the expected answer (1.0 = exact).
 */
public final class ReverseTextReward {

  private ReverseTextReward() {}

  public static double score(String prompt, String completion) {
    return SequenceMatcher.ratio(completion, ReverseTextTask.reverse(prompt));
  }
}
