package dev.stepwise.runtime.config;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a TOML file into a {@link ConfigTree}, giving every key the line it was written on. Jackson
 * parses the TOML; a light scan of the text finds the lines (Jackson's TOML reader keeps none once
 * it has built its tree).
 */
public final class TomlSource {

  private static final TomlMapper MAPPER = new TomlMapper();

  private TomlSource() {}

  public static ConfigTree read(Path file) {
    var name = file.toString();
    String text;
    try {
      text = Files.readString(file);
    } catch (NoSuchFileException e) {
      throw new ConfigException(name + ": no such config file");
    } catch (IOException e) {
      throw new ConfigException(name + ": cannot read config file: " + e.getMessage());
    }
    return parse(text, name);
  }

  public static ConfigTree parse(String text, String name) {
    JsonNode root;
    try {
      root = MAPPER.readTree(text);
    } catch (JacksonException e) {
      var location = e.getLocation();
      var line = location == null ? 0 : location.getLineNr();
      var message = e.getOriginalMessage().replaceAll("\\s+", " ").trim();
      throw new ConfigException(
          Origin.file(name, Math.max(line, 0)) + ": invalid TOML: " + message);
    }
    var lines = keyLines(text);
    var tree = new ConfigTree(Origin.file(name, 0));
    fill(tree, root, "", name, lines);
    return tree;
  }

  private static void fill(
      ConfigTree tree, JsonNode node, String prefix, String file, Map<String, Integer> lines) {
    var fields = node.fields();
    while (fields.hasNext()) {
      var field = fields.next();
      var path = prefix.isEmpty() ? field.getKey() : prefix + "." + field.getKey();
      var origin = Origin.file(file, lineOf(path, lines));
      var value = field.getValue();
      if (value.isObject()) {
        var child = new ConfigTree(origin);
        fill(child, value, path, file, lines);
        tree.put(field.getKey(), child, origin);
      } else {
        tree.put(field.getKey(), scalar(value), origin);
      }
    }
  }

  private static Object scalar(JsonNode value) {
    if (value.isBoolean()) {
      return value.booleanValue();
    }
    if (value.isIntegralNumber()) {
      return value.canConvertToLong() ? (Object) value.longValue() : value.doubleValue();
    }
    if (value.isNumber()) {
      return value.doubleValue();
    }
    if (value.isArray()) {
      var list = new ArrayList<Object>();
      value.forEach(v -> list.add(v.isContainerNode() ? v.toString() : scalar(v)));
      return list;
    }
    return value.asText();
  }

  private static int lineOf(String path, Map<String, Integer> lines) {
    var p = path;
    while (true) {
      var line = lines.get(p);
      if (line != null) {
        return line;
      }
      var dot = p.lastIndexOf('.');
      if (dot < 0) {
        return 0;
      }
      p = p.substring(0, dot);
    }
  }

  /** Dotted key path to the 1-based line that defines it (tables, dotted keys, quoted keys). */
  static Map<String, Integer> keyLines(String text) {
    var result = new HashMap<String, Integer>();
    var table = "";
    var multiline = (String) null;
    var lineNo = 0;
    for (var raw : text.split("\n", -1)) {
      lineNo++;
      var line = raw.strip();
      if (multiline != null) {
        if (line.contains(multiline)) {
          multiline = null;
        }
        continue;
      }
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      if (line.startsWith("[")) {
        var inner = line.startsWith("[[") ? between(line, "[[", "]]") : between(line, "[", "]");
        table = String.join(".", splitKey(inner));
        result.putIfAbsent(table, lineNo);
        continue;
      }
      var eq = indexOfEquals(line);
      if (eq < 0) {
        continue;
      }
      var key = String.join(".", splitKey(line.substring(0, eq)));
      var full = table.isEmpty() ? key : table + "." + key;
      result.putIfAbsent(full, lineNo);
      var rest = line.substring(eq + 1).strip();
      for (var quote : List.of("\"\"\"", "'''")) {
        if (rest.startsWith(quote) && rest.indexOf(quote, 3) < 0) {
          multiline = quote;
        }
      }
    }
    return result;
  }

  private static String between(String line, String open, String close) {
    var end = line.indexOf(close, open.length());
    return end < 0 ? line.substring(open.length()) : line.substring(open.length(), end);
  }

  private static int indexOfEquals(String line) {
    char quote = 0;
    for (var i = 0; i < line.length(); i++) {
      var c = line.charAt(i);
      if (quote != 0) {
        if (c == quote) {
          quote = 0;
        }
      } else if (c == '"' || c == '\'') {
        quote = c;
      } else if (c == '=') {
        return i;
      }
    }
    return -1;
  }

  private static List<String> splitKey(String key) {
    var parts = new ArrayList<String>();
    var current = new StringBuilder();
    char quote = 0;
    for (var c : key.strip().toCharArray()) {
      if (quote != 0) {
        if (c == quote) {
          quote = 0;
        } else {
          current.append(c);
        }
      } else if (c == '"' || c == '\'') {
        quote = c;
      } else if (c == '.') {
        parts.add(current.toString().strip());
        current.setLength(0);
      } else {
        current.append(c);
      }
    }
    parts.add(current.toString().strip());
    return parts;
  }
}
