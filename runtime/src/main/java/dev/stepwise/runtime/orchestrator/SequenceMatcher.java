package dev.stepwise.runtime.orchestrator;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A port of Python's {@code difflib.SequenceMatcher(None, a, b).ratio()} over code points, the
 * "autojunk" heuristic included: when {@code b} has 200 or more elements, any element occurring
 * more than {@code len(b) // 100 + 1} times is "popular" and cannot start a match (it can still
 * extend one). Without a junk predicate that is the only difference from a plain LCS of blocks.
 */
public final class SequenceMatcher {

  private final int[] a;
  private final int[] b;
  private final Map<Integer, int[]> b2j = new HashMap<>();

  public SequenceMatcher(String a, String b) {
    this.a = a.codePoints().toArray();
    this.b = b.codePoints().toArray();
    var positions = new HashMap<Integer, List<Integer>>();
    for (var j = 0; j < this.b.length; j++) {
      positions.computeIfAbsent(this.b[j], k -> new ArrayList<>()).add(j);
    }
    var n = this.b.length;
    var popularAbove = n >= 200 ? n / 100 + 1 : Integer.MAX_VALUE;
    for (var e : positions.entrySet()) {
      if (e.getValue().size() <= popularAbove) {
        b2j.put(e.getKey(), e.getValue().stream().mapToInt(Integer::intValue).toArray());
      }
    }
  }

  /** {@code 2 * M / T}: M matched elements, T the total length of both (1.0 when both empty). */
  public static double ratio(String a, String b) {
    var matcher = new SequenceMatcher(a, b);
    var total = matcher.a.length + matcher.b.length;
    return total == 0 ? 1.0 : 2.0 * matcher.matchedElements() / total;
  }

  /** The sum of the sizes of difflib's matching blocks. */
  public int matchedElements() {
    var matched = 0;
    var queue = new ArrayDeque<int[]>();
    queue.push(new int[] {0, a.length, 0, b.length});
    while (!queue.isEmpty()) {
      var q = queue.pop();
      var m = longestMatch(q[0], q[1], q[2], q[3]);
      var i = m[0];
      var j = m[1];
      var k = m[2];
      if (k > 0) {
        matched += k;
        if (q[0] < i && q[2] < j) {
          queue.push(new int[] {q[0], i, q[2], j});
        }
        if (i + k < q[1] && j + k < q[3]) {
          queue.push(new int[] {i + k, q[1], j + k, q[3]});
        }
      }
    }
    return matched;
  }

  /** difflib's find_longest_match: {i, j, size}, the earliest longest block in a[alo:ahi]. */
  int[] longestMatch(int alo, int ahi, int blo, int bhi) {
    var besti = alo;
    var bestj = blo;
    var bestSize = 0;
    Map<Integer, Integer> j2len = new HashMap<>();
    for (var i = alo; i < ahi; i++) {
      Map<Integer, Integer> next = new HashMap<>();
      var js = b2j.get(a[i]);
      if (js != null) {
        for (var j : js) {
          if (j < blo) {
            continue;
          }
          if (j >= bhi) {
            break;
          }
          var k = j2len.getOrDefault(j - 1, 0) + 1;
          next.put(j, k);
          if (k > bestSize) {
            besti = i - k + 1;
            bestj = j - k + 1;
            bestSize = k;
          }
        }
      }
      j2len = next;
    }
    // Popular elements cannot start a match but may extend one on either side (no junk here).
    while (besti > alo && bestj > blo && a[besti - 1] == b[bestj - 1]) {
      besti--;
      bestj--;
      bestSize++;
    }
    while (besti + bestSize < ahi
        && bestj + bestSize < bhi
        && a[besti + bestSize] == b[bestj + bestSize]) {
      bestSize++;
    }
    return new int[] {besti, bestj, bestSize};
  }
}
