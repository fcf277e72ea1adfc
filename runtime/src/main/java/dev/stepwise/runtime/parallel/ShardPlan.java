package dev.stepwise.runtime.parallel;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Map;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Which rank saves which parameter (and that parameter's optimizer state) in a checkpoint written
 * by {@code worldSize} ranks: whole tensors, largest first, each to the rank with the fewest bytes
 * so far (ties to the lower rank, names break size ties). A pure function of the parameter names
 * and sizes, so every rank computes the same plan without talking to the others.
 */
public final class ShardPlan {

  private final SortedMap<String, Integer> owner;
  private final int worldSize;

  private ShardPlan(SortedMap<String, Integer> owner, int worldSize) {
    this.owner = owner;
    this.worldSize = worldSize;
  }

  /** Plans over parameter names and their sizes in elements. */
  public static ShardPlan of(Map<String, Long> sizes, int worldSize) {
    if (worldSize < 1) {
      throw new IllegalArgumentException("world size must be >= 1, was " + worldSize);
    }
    var names = new ArrayList<>(sizes.keySet());
    names.sort(
        Comparator.<String>comparingLong(sizes::get)
            .reversed()
            .thenComparing(Comparator.naturalOrder()));
    var load = new long[worldSize];
    var owner = new TreeMap<String, Integer>();
    for (var name : names) {
      var best = 0;
      for (var r = 1; r < worldSize; r++) {
        if (load[r] < load[best]) {
          best = r;
        }
      }
      owner.put(name, best);
      load[best] += sizes.get(name);
    }
    return new ShardPlan(Collections.unmodifiableSortedMap(owner), worldSize);
  }

  public int worldSize() {
    return worldSize;
  }

  /** The rank that saves {@code parameter}. */
  public int owner(String parameter) {
    var rank = owner.get(parameter);
    if (rank == null) {
      throw new IllegalArgumentException("no such parameter in the shard plan: " + parameter);
    }
    return rank;
  }

  /** The parameters {@code rank} saves. */
  public SortedSet<String> ownedBy(int rank) {
    var names = new TreeSet<String>();
    owner.forEach(
        (name, r) -> {
          if (r == rank) {
            names.add(name);
          }
        });
    return names;
  }
}
