package dev.stepwise.runtime.orchestrator;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * The reward against Python. Every expected value below was computed on this machine with {@code
 * python3 -c "import difflib; print(repr(difflib.SequenceMatcher(None, a, b).ratio()))"} for the
 * same (a, b); the long pairs also show difflib's autojunk heuristic at work (without it Python
 * gives the value in the trailing comment).
 */
class SequenceMatcherTest {

  private static void assertRatio(double expected, String a, String b) {
    assertEquals(expected, SequenceMatcher.ratio(a, b), 0.0, () -> "ratio(" + a + ", " + b + ")");
  }

  @Test
  void shortPairsMatchPython() {
    assertRatio(0.25, "abcd", "dcba");
    assertRatio(1.0, "hello", "hello");
    assertRatio(0.0, "", "abc");
    assertRatio(1.0, "", "");
    assertRatio(0.6153846153846154, "kitten", "sitting");
    assertRatio(0.4, "olleh", "hello");
    assertRatio(0.8888888888888888, "abxcd", "abcd");
    assertRatio(0.1, "qwertyuiop", "poiuytrewq");
    assertRatio(0.8333333333333334, "aaaaab", "baaaaa");
    assertRatio(0.05263157894736842, "the quick brown fox", "xof nworb kciuq eht");
    assertRatio(0.18181818181818182, "héllo wörld", "dlröw olléh");
  }

  @Test
  void autojunkKicksInAt200Elements() {
    var s = "The quick brown fox jumps over the lazy dog 0123456789. ".repeat(4);
    assertRatio(0.755056179775281, s, s.substring(3)); // 0.9932584269662922 without autojunk
    var reversed = new StringBuilder(s).reverse().toString();
    assertRatio(0.0, s, reversed); // 0.05357142857142857 without autojunk
    var alphabet = "abcdefghijklmnopqrstuvwxyz".repeat(8);
    assertRatio(0.0, alphabet, alphabet.substring(5) + "!"); // 0.9854368932038835
    // Below 200 elements nothing is popular: 199 copies of 'a' still match.
    assertRatio(1.0, "a".repeat(199), "a".repeat(199));
    // From 200 on 'a' is popular, but an empty best match still extends from the range start.
    assertRatio(1.0, "a".repeat(200), "a".repeat(200));
  }

  @Test
  void rewardComparesCompletionWithReversedPrompt() {
    assertEquals(1.0, ReverseTextReward.score("hello", "olleh"), 0.0);
    assertEquals(0.4, ReverseTextReward.score("hello", "hello"), 0.0);
  }
}
