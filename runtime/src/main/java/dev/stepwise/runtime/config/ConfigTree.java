package dev.stepwise.runtime.config;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An untyped config table whose every value remembers its {@link Origin}. Values are {@code
 * String}, {@code Long}, {@code Double}, {@code Boolean}, {@code List}, or a nested {@code
 * ConfigTree}; a value set by a flag is kept as the raw flag text and converted by the binder.
 */
public final class ConfigTree {

  /** A value and where it came from. */
  public record Entry(Object value, Origin origin) {}

  private final Map<String, Entry> entries = new LinkedHashMap<>();
  private final Origin origin;

  public ConfigTree(Origin origin) {
    this.origin = origin;
  }

  public Origin origin() {
    return origin;
  }

  public Map<String, Entry> entries() {
    return entries;
  }

  public Entry get(String key) {
    return entries.get(key);
  }

  public void put(String key, Object value, Origin origin) {
    entries.put(key, new Entry(value, origin));
  }

  /** The table at {@code path}, created (with {@code origin}) where missing. */
  public ConfigTree table(List<String> path, Origin origin) {
    var table = this;
    for (var key : path) {
      var entry = table.entries.get(key);
      if (entry == null || !(entry.value() instanceof ConfigTree)) {
        var child = new ConfigTree(origin);
        table.entries.put(key, new Entry(child, origin));
        table = child;
      } else {
        table = (ConfigTree) entry.value();
      }
    }
    return table;
  }

  /** Deep-merges {@code other} into this tree: tables merge key by key, other values replace. */
  public void mergeFrom(ConfigTree other) {
    for (var e : other.entries.entrySet()) {
      var mine = entries.get(e.getKey());
      if (mine != null
          && mine.value() instanceof ConfigTree mineTable
          && e.getValue().value() instanceof ConfigTree theirs) {
        mineTable.mergeFrom(theirs);
      } else {
        entries.put(e.getKey(), e.getValue());
      }
    }
  }
}
