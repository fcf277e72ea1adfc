package dev.stepwise.runtime.config;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The keys a config record accepts, read from the record itself: each component is a key in kebab
 * case ({@code maxSteps} is {@code max-steps}), a nested record is a section, and each record type
 * provides {@code static T defaults()}. A section whose default is {@code null} is off until the
 * config mentions it (a bare {@code --ckpt} turns it on).
 */
public final class ConfigSchema {

  /** What kind of value a key takes. */
  public enum Kind {
    BOOLEAN("a boolean"),
    INT("an integer"),
    LONG("an integer"),
    DOUBLE("a number"),
    STRING("a string"),
    ENUM("one of"),
    CUSTOM("a value"),
    SECTION("a table");

    final String noun;

    Kind(String noun) {
      this.noun = noun;
    }
  }

  /** One key of the schema. */
  public record Field(
      String key,
      String path,
      RecordComponent component,
      Kind kind,
      ConfigSchema section,
      String doc,
      Min min,
      Max max) {

    public Class<?> type() {
      return component.getType();
    }

    public List<String> enumValues() {
      var values = new ArrayList<String>();
      for (var constant : type().getEnumConstants()) {
        values.add(enumName((Enum<?>) constant));
      }
      return values;
    }

    public String typeName() {
      return switch (kind) {
        case ENUM -> String.join("|", enumValues());
        case BOOLEAN -> "";
        case INT, LONG -> "INT";
        case DOUBLE -> "NUM";
        case SECTION -> "";
        default -> "VALUE";
      };
    }
  }

  private static final Map<Class<?>, ConfigSchema> CACHE = new LinkedHashMap<>();

  private final Class<? extends Record> type;
  private final String prefix;
  private final Map<String, Field> fields = new LinkedHashMap<>();

  private ConfigSchema(Class<? extends Record> type, String prefix) {
    this.type = type;
    this.prefix = prefix;
    for (var component : type.getRecordComponents()) {
      var key = kebab(component.getName());
      var path = prefix.isEmpty() ? key : prefix + "." + key;
      var kind = kindOf(component.getType());
      @SuppressWarnings("unchecked")
      var section =
          kind == Kind.SECTION
              ? new ConfigSchema((Class<? extends Record>) component.getType(), path)
              : null;
      var doc = component.getAnnotation(Doc.class);
      fields.put(
          key,
          new Field(
              key,
              path,
              component,
              kind,
              section,
              doc == null ? "" : doc.value(),
              component.getAnnotation(Min.class),
              component.getAnnotation(Max.class)));
    }
  }

  public static synchronized ConfigSchema of(Class<? extends Record> type) {
    return CACHE.computeIfAbsent(type, t -> new ConfigSchema(type, ""));
  }

  public Class<? extends Record> type() {
    return type;
  }

  public String prefix() {
    return prefix;
  }

  public Map<String, Field> fields() {
    return fields;
  }

  /** The field at a dotted path below this schema, or {@code null}. */
  public Field resolve(List<String> path) {
    var schema = this;
    Field field = null;
    for (var i = 0; i < path.size(); i++) {
      if (schema == null) {
        return null;
      }
      field = schema.fields.get(path.get(i));
      if (field == null) {
        return null;
      }
      schema = field.section();
    }
    return field;
  }

  /** Every dotted path (sections and leaves) below this schema. */
  public List<String> allPaths() {
    var paths = new ArrayList<String>();
    for (var field : fields.values()) {
      paths.add(field.path());
      if (field.section() != null) {
        paths.addAll(field.section().allPaths());
      }
    }
    return paths;
  }

  /** The record's {@code static defaults()} instance. */
  public Object defaults() {
    return defaultsOf(type);
  }

  static Object defaultsOf(Class<?> type) {
    try {
      Method method = type.getDeclaredMethod("defaults");
      return method.invoke(null);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException(type.getName() + " needs a static defaults() method", e);
    }
  }

  static Method customFactory(Class<?> type) {
    try {
      var method = type.getDeclaredMethod("fromConfig", Object.class);
      return Modifier.isStatic(method.getModifiers()) ? method : null;
    } catch (NoSuchMethodException e) {
      return null;
    }
  }

  private static Kind kindOf(Class<?> type) {
    if (type == boolean.class || type == Boolean.class) {
      return Kind.BOOLEAN;
    }
    if (type == int.class || type == Integer.class) {
      return Kind.INT;
    }
    if (type == long.class || type == Long.class) {
      return Kind.LONG;
    }
    if (type == double.class || type == Double.class) {
      return Kind.DOUBLE;
    }
    if (type == String.class) {
      return Kind.STRING;
    }
    if (type.isEnum()) {
      return Kind.ENUM;
    }
    if (customFactory(type) != null) {
      return Kind.CUSTOM;
    }
    if (type.isRecord()) {
      return Kind.SECTION;
    }
    throw new IllegalStateException("unsupported config type " + type.getName());
  }

  public static String kebab(String camel) {
    var out = new StringBuilder();
    for (var c : camel.toCharArray()) {
      if (Character.isUpperCase(c)) {
        out.append('-').append(Character.toLowerCase(c));
      } else {
        out.append(c);
      }
    }
    return out.toString();
  }

  public static String enumName(Enum<?> constant) {
    return constant.name().toLowerCase(Locale.ROOT).replace('_', '-');
  }
}
