package dev.stepwise.runtime.config;

import dev.stepwise.runtime.config.ConfigSchema.Field;
import dev.stepwise.runtime.config.ConfigSchema.Kind;
import java.lang.reflect.InvocationTargetException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Turns a {@link ConfigTree} into a config record, refusing unknown keys, wrong types and values
 * out of range. Every problem is reported (not just the first), each naming the key and where it
 * was set.
 */
public final class ConfigBinder {

  private final ConfigSchema root;
  private final List<String> problems = new ArrayList<>();

  private ConfigBinder(ConfigSchema root) {
    this.root = root;
  }

  public static <T extends Record> T bind(Class<T> type, ConfigTree tree) {
    var binder = new ConfigBinder(ConfigSchema.of(type));
    var value = binder.bindSection(binder.root, tree, binder.root.defaults());
    if (!binder.problems.isEmpty()) {
      throw new ConfigException(binder.problems);
    }
    return type.cast(value);
  }

  private Object bindSection(ConfigSchema schema, ConfigTree tree, Object defaults) {
    for (var entry : tree.entries().entrySet()) {
      if (!schema.fields().containsKey(entry.getKey())) {
        var path = join(schema.prefix(), entry.getKey());
        var hint = Suggest.closest(path, root.allPaths());
        problems.add(
            entry.getValue().origin()
                + ": unknown key '"
                + path
                + "'"
                + (hint == null ? "" : " (did you mean '" + hint + "'?)"));
      }
    }
    var components = schema.type().getRecordComponents();
    var args = new Object[components.length];
    var types = new Class<?>[components.length];
    var before = problems.size();
    var i = 0;
    for (var field : schema.fields().values()) {
      types[i] = field.type();
      var fallback = accessor(field, defaults);
      var entry = tree.get(field.key());
      args[i++] = entry == null ? fallback : convert(field, entry, fallback);
    }
    if (problems.size() > before) {
      return defaults;
    }
    try {
      return schema.type().getDeclaredConstructor(types).newInstance(args);
    } catch (InvocationTargetException e) {
      if (e.getCause() instanceof IllegalArgumentException bad) {
        var where = schema.prefix().isEmpty() ? "" : "[" + schema.prefix() + "] ";
        problems.add(tree.origin() + ": " + where + bad.getMessage());
        return defaults;
      }
      throw new IllegalStateException(e.getCause());
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException(e);
    }
  }

  private Object convert(Field field, ConfigTree.Entry entry, Object fallback) {
    var value = entry.value();
    var origin = entry.origin();
    var raw = origin.isFlag() && value instanceof String;
    try {
      var converted =
          switch (field.kind()) {
            case SECTION -> {
              if (!(value instanceof ConfigTree table)) {
                throw mismatch(field, value);
              }
              var sectionDefaults =
                  fallback != null ? fallback : ConfigSchema.defaultsOf(field.type());
              yield bindSection(field.section(), table, sectionDefaults);
            }
            case BOOLEAN -> {
              if (value instanceof Boolean b) {
                yield b;
              }
              if (raw && (value.equals("true") || value.equals("false"))) {
                yield Boolean.parseBoolean((String) value);
              }
              throw mismatch(field, value);
            }
            case INT, LONG -> {
              long n;
              if (value instanceof Long l) {
                n = l;
              } else if (raw) {
                n = parseLong(field, (String) value);
              } else {
                throw mismatch(field, value);
              }
              checkRange(field, n);
              if (field.kind() == Kind.INT) {
                if (n < Integer.MIN_VALUE || n > Integer.MAX_VALUE) {
                  throw new IllegalArgumentException(
                      "'" + field.path() + "' is out of range, got " + n);
                }
                yield (int) n;
              }
              yield n;
            }
            case DOUBLE -> {
              double d;
              if (value instanceof Long l) {
                d = l;
              } else if (value instanceof Double x) {
                d = x;
              } else if (raw) {
                d = parseDouble(field, (String) value);
              } else {
                throw mismatch(field, value);
              }
              if (Double.isNaN(d) || Double.isInfinite(d)) {
                throw new IllegalArgumentException(
                    "'" + field.path() + "' must be a finite number, got " + d);
              }
              checkRange(field, d);
              yield d;
            }
            case STRING -> {
              if (value instanceof String s) {
                yield s;
              }
              throw mismatch(field, value);
            }
            case ENUM -> {
              if (value instanceof String s) {
                for (var constant : field.type().getEnumConstants()) {
                  if (ConfigSchema.enumName((Enum<?>) constant)
                      .equals(s.toLowerCase(Locale.ROOT))) {
                    yield constant;
                  }
                }
              }
              throw new IllegalArgumentException(
                  "'"
                      + field.path()
                      + "' must be one of "
                      + String.join(", ", field.enumValues())
                      + ", got "
                      + describe(value));
            }
            case CUSTOM -> {
              Object input = value;
              if (raw) {
                try {
                  input = Long.parseLong((String) value);
                } catch (NumberFormatException notANumber) {
                  input = value;
                }
              }
              try {
                yield ConfigSchema.customFactory(field.type()).invoke(null, input);
              } catch (InvocationTargetException e) {
                throw new IllegalArgumentException(
                    "'" + field.path() + "' " + e.getCause().getMessage());
              }
            }
          };
      return converted;
    } catch (IllegalArgumentException e) {
      problems.add(origin + ": " + e.getMessage());
      return fallback;
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException(e);
    }
  }

  private static long parseLong(Field field, String text) {
    try {
      return Long.parseLong(text.replace("_", ""));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "'" + field.path() + "' must be an integer, got '" + text + "'");
    }
  }

  private static double parseDouble(Field field, String text) {
    try {
      return Double.parseDouble(text.replace("_", ""));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "'" + field.path() + "' must be a number, got '" + text + "'");
    }
  }

  private static void checkRange(Field field, double value) {
    var min = field.min();
    if (min != null && (min.exclusive() ? value <= min.value() : value < min.value())) {
      throw new IllegalArgumentException(
          "'"
              + field.path()
              + "' must be "
              + (min.exclusive() ? "> " : ">= ")
              + number(min.value())
              + ", got "
              + number(value));
    }
    var max = field.max();
    if (max != null && (max.exclusive() ? value >= max.value() : value > max.value())) {
      throw new IllegalArgumentException(
          "'"
              + field.path()
              + "' must be "
              + (max.exclusive() ? "< " : "<= ")
              + number(max.value())
              + ", got "
              + number(value));
    }
  }

  private static String number(double d) {
    return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : Double.toString(d);
  }

  private static IllegalArgumentException mismatch(Field field, Object value) {
    return new IllegalArgumentException(
        "'" + field.path() + "' must be " + field.kind().noun + ", got " + describe(value));
  }

  private static String describe(Object value) {
    if (value instanceof String s) {
      return "the string \"" + s + "\"";
    }
    if (value instanceof ConfigTree) {
      return "a table";
    }
    if (value instanceof List) {
      return "an array";
    }
    if (value instanceof Boolean) {
      return "the boolean " + value;
    }
    return value.toString();
  }

  private static Object accessor(Field field, Object instance) {
    if (instance == null) {
      return null;
    }
    try {
      return field.component().getAccessor().invoke(instance);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String join(String prefix, String key) {
    return prefix.isEmpty() ? key : prefix + "." + key;
  }
}
