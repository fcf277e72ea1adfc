package dev.stepwise.runtime.config;

import java.util.Collection;

/** Finds the valid key a mistyped one most likely meant. */
final class Suggest {

  private Suggest() {}

  /** The closest option, or {@code null} when none is close enough to be a plausible typo. */
  static String closest(String wrong, Collection<String> options) {
    var leaf = leaf(wrong);
    String sameLeaf = null;
    var sameLeafCount = 0;
    for (var option : options) {
      if (leaf(option).equals(leaf)) {
        sameLeaf = option;
        sameLeafCount++;
      }
    }
    if (sameLeafCount == 1) {
      return sameLeaf;
    }
    String best = null;
    var bestDistance = Integer.MAX_VALUE;
    for (var option : options) {
      var d = distance(wrong, option);
      if (d < bestDistance) {
        best = option;
        bestDistance = d;
      }
    }
    var limit = Math.max(2, leaf.length() / 3);
    return bestDistance <= limit ? best : null;
  }

  private static String leaf(String path) {
    return path.substring(path.lastIndexOf('.') + 1);
  }

  static int distance(String a, String b) {
    var prev = new int[b.length() + 1];
    var cur = new int[b.length() + 1];
    for (var j = 0; j <= b.length(); j++) {
      prev[j] = j;
    }
    for (var i = 1; i <= a.length(); i++) {
      cur[0] = i;
      for (var j = 1; j <= b.length(); j++) {
        var cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
      }
      var t = prev;
      prev = cur;
      cur = t;
    }
    return prev[b.length()];
  }
}
