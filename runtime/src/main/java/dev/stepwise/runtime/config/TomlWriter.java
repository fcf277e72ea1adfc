package dev.stepwise.runtime.config;

import java.util.ArrayList;
import java.util.List;

/** Writes a config record back as TOML (what {@code --dry-run} prints and checkpoints keep). */
public final class TomlWriter {

  private TomlWriter() {}

  public static String write(Record config) {
    var out = new StringBuilder();
    writeTable(ConfigSchema.of(config.getClass()), config, out);
    return out.toString();
  }

  private static void writeTable(ConfigSchema schema, Object value, StringBuilder out) {
    var sections = new ArrayList<Object[]>();
    for (var field : schema.fields().values()) {
      var v = get(field, value);
      if (field.section() != null) {
        sections.add(new Object[] {field, v});
      } else if (v == null) {
        out.append("# ").append(field.key()).append(" = (unset)\n");
      } else {
        out.append(field.key()).append(" = ").append(literal(v)).append('\n');
      }
    }
    for (var section : sections) {
      var field = (ConfigSchema.Field) section[0];
      out.append('\n');
      if (section[1] == null) {
        out.append("# [").append(field.path()).append("] is off\n");
        continue;
      }
      out.append('[').append(field.path()).append("]\n");
      writeTable(field.section(), section[1], out);
    }
  }

  private static Object get(ConfigSchema.Field field, Object instance) {
    try {
      return field.component().getAccessor().invoke(instance);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A TOML literal for a config value. */
  public static String literal(Object value) {
    if (value instanceof String s) {
      return quote(s);
    }
    if (value instanceof Enum<?> e) {
      return quote(ConfigSchema.enumName(e));
    }
    if (value instanceof Boolean || value instanceof Integer || value instanceof Long) {
      return value.toString();
    }
    if (value instanceof Double d) {
      return Double.toString(d);
    }
    if (value instanceof List<?> list) {
      var parts = new ArrayList<String>();
      list.forEach(v -> parts.add(literal(v)));
      return "[" + String.join(", ", parts) + "]";
    }
    var text = value.toString();
    return text.matches("-?\\d+") ? text : quote(text);
  }

  private static String quote(String s) {
    var out = new StringBuilder("\"");
    for (var c : s.toCharArray()) {
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\t' -> out.append("\\t");
        default -> out.append(c);
      }
    }
    return out.append('"').toString();
  }
}
