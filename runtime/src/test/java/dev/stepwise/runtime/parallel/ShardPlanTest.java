package dev.stepwise.runtime.parallel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

class ShardPlanTest {

  private static final Map<String, Long> SIZES =
      new TreeMap<>(
          Map.of(
              "embed.weight", 1000L,
              "lm_head.weight", 1000L,
              "layers.0.mlp.up.weight", 600L,
              "layers.0.mlp.down.weight", 600L,
              "layers.0.attn_norm.weight", 10L,
              "final_norm.weight", 10L));

  @Test
  void everyParameterHasExactlyOneOwnerAndTheLoadIsBalanced() {
    var plan = ShardPlan.of(SIZES, 2);
    var seen = new TreeSet<String>();
    long[] load = new long[2];
    for (var rank = 0; rank < 2; rank++) {
      for (var name : plan.ownedBy(rank)) {
        assertTrue(seen.add(name), name + " owned twice");
        assertEquals(rank, plan.owner(name));
        load[rank] += SIZES.get(name);
      }
    }
    assertEquals(SIZES.keySet(), seen);
    assertEquals(load[0], load[1], "1000+600+10 on each rank");
  }

  @Test
  void oneRankOwnsEverythingAndMoreRanksThanTensorsLeaveSomeEmpty() {
    assertEquals(SIZES.keySet(), ShardPlan.of(SIZES, 1).ownedBy(0));
    var wide = ShardPlan.of(SIZES, 8);
    assertTrue(wide.ownedBy(7).isEmpty());
    assertEquals(1, wide.ownedBy(0).size());
  }

  @Test
  void thePlanIsAPureFunctionOfNamesAndSizes() {
    var reordered = new java.util.LinkedHashMap<String, Long>();
    var names = new java.util.ArrayList<>(SIZES.keySet());
    java.util.Collections.reverse(names);
    names.forEach(k -> reordered.put(k, SIZES.get(k)));
    for (var name : SIZES.keySet()) {
      assertEquals(ShardPlan.of(SIZES, 3).owner(name), ShardPlan.of(reordered, 3).owner(name));
    }
    assertThrows(IllegalArgumentException.class, () -> ShardPlan.of(SIZES, 0));
  }
}
