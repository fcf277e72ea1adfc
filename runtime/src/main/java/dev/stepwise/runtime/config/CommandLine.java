package dev.stepwise.runtime.config;

import dev.stepwise.runtime.config.ConfigSchema.Kind;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Parses a subcommand's arguments the way prime-rl users type them: {@code @ file.toml} (several,
 * deep-merged left to right), then dotted kebab-case flags that override the files ({@code
 * --max-steps 20}, {@code --ckpt.interval 5}, {@code --ckpt.save-async}, {@code --no-x}); a bare
 * section flag ({@code --ckpt}) turns that section on with its defaults.
 */
public final class CommandLine {

  /** The parsed arguments of one invocation. */
  public record Parsed<T extends Record>(
      T config, List<Path> files, ConfigTree tree, boolean help, boolean dryRun) {}

  private CommandLine() {}

  public static <T extends Record> Parsed<T> parse(Class<T> type, List<String> args) {
    return parse(type, args, List.of());
  }

  /**
   * As {@link #parse(Class, List)}, where bare arguments set the keys {@code positional} names, in
   * order, as if given as {@code --<key> VALUE} ({@code export STEP_DIR OUT}).
   */
  public static <T extends Record> Parsed<T> parse(
      Class<T> type, List<String> args, List<String> positional) {
    var schema = ConfigSchema.of(type);
    var bare = 0;
    var files = new ArrayList<Path>();
    var flags = new ArrayList<String[]>();
    var problems = new ArrayList<String>();
    var help = false;
    var dryRun = false;
    for (var i = 0; i < args.size(); i++) {
      var arg = args.get(i);
      if (arg.equals("@")) {
        if (i + 1 >= args.size()) {
          problems.add("@: expected a TOML file after '@'");
        } else {
          files.add(Path.of(args.get(++i)));
        }
      } else if (arg.startsWith("@")) {
        files.add(Path.of(arg.substring(1)));
      } else if (arg.equals("--help") || arg.equals("-h")) {
        help = true;
      } else if (arg.equals("--dry-run")) {
        dryRun = true;
      } else if (arg.startsWith("--") && arg.length() > 2) {
        var body = arg.substring(2);
        var eq = body.indexOf('=');
        var name = eq < 0 ? body : body.substring(0, eq);
        var inline = eq < 0 ? null : body.substring(eq + 1);
        var field = schema.resolve(Arrays.asList(name.split("\\.", -1)));
        String value = inline;
        var takesValue =
            field == null
                ? !isNegatedBoolean(schema, name)
                    && i + 1 < args.size()
                    && !isOption(args.get(i + 1))
                : field.kind() != Kind.BOOLEAN && field.kind() != Kind.SECTION;
        if (takesValue && inline == null) {
          if (i + 1 >= args.size() || isOption(args.get(i + 1))) {
            problems.add("--" + name + ": expects a value (" + field.typeName() + ")");
            continue;
          }
          value = args.get(++i);
        }
        flags.add(new String[] {name, value});
      } else if (bare < positional.size() && !arg.startsWith("-")) {
        flags.add(new String[] {positional.get(bare++), arg});
      } else {
        problems.add(
            arg
                + ": unexpected argument (config files are given as '@ file.toml', options as"
                + " '--key value')");
      }
    }
    if (!problems.isEmpty()) {
      throw new ConfigException(problems);
    }
    var tree = new ConfigTree(Origin.DEFAULT);
    for (var file : files) {
      tree.mergeFrom(TomlSource.read(file));
    }
    for (var flag : flags) {
      apply(schema, tree, flag[0], flag[1], problems);
    }
    if (!problems.isEmpty()) {
      throw new ConfigException(problems);
    }
    if (help) {
      return new Parsed<>(null, files, tree, true, dryRun);
    }
    var config = ConfigBinder.bind(type, tree);
    return new Parsed<>(config, files, tree, false, dryRun);
  }

  private static boolean isOption(String arg) {
    return arg.startsWith("--") || arg.startsWith("@");
  }

  private static boolean isNegatedBoolean(ConfigSchema schema, String name) {
    return negatedBoolean(schema, name) != null;
  }

  /** {@code --no-ckpt.save-async} or {@code --ckpt.no-save-async}: the boolean's path, or null. */
  private static List<String> negatedBoolean(ConfigSchema schema, String name) {
    var candidates = new ArrayList<List<String>>();
    if (name.startsWith("no-")) {
      candidates.add(Arrays.asList(name.substring(3).split("\\.", -1)));
    }
    var path = new ArrayList<>(Arrays.asList(name.split("\\.", -1)));
    var last = path.size() - 1;
    if (path.get(last).startsWith("no-")) {
      path.set(last, path.get(last).substring(3));
      candidates.add(path);
    }
    for (var candidate : candidates) {
      var field = schema.resolve(candidate);
      if (field != null && field.kind() == Kind.BOOLEAN) {
        return candidate;
      }
    }
    return null;
  }

  private static void apply(
      ConfigSchema schema, ConfigTree tree, String name, String value, List<String> problems) {
    var origin = Origin.flag("--" + name);
    var path = new ArrayList<>(Arrays.asList(name.split("\\.", -1)));
    var field = schema.resolve(path);
    var last = path.size() - 1;
    var negated = field == null ? negatedBoolean(schema, name) : null;
    if (negated != null) {
      if (value != null) {
        problems.add(origin + ": a --no- flag takes no value");
        return;
      }
      var end = negated.size() - 1;
      tree.table(negated.subList(0, end), origin).put(negated.get(end), false, origin);
      return;
    }
    if (field == null) {
      var hint = Suggest.closest(name, schema.allPaths());
      problems.add(
          origin + ": unknown option" + (hint == null ? "" : " (did you mean '--" + hint + "'?)"));
      return;
    }
    switch (field.kind()) {
      case SECTION -> {
        if (value != null) {
          problems.add(
              origin + ": a section takes no value; set its keys, e.g. --" + name + ".<key> VALUE");
          return;
        }
        tree.table(path, origin);
      }
      case BOOLEAN -> {
        if (value != null && !value.equals("true") && !value.equals("false")) {
          problems.add(
              origin + ": '" + name + "' is a boolean: use --" + name + " or --no-" + name);
          return;
        }
        tree.table(path.subList(0, last), origin)
            .put(path.get(last), value == null || Boolean.parseBoolean(value), origin);
      }
      default -> tree.table(path.subList(0, last), origin).put(path.get(last), value, origin);
    }
  }

  /** The {@code --help} text for a config record. */
  public static String help(Class<? extends Record> type) {
    var out = new StringBuilder();
    appendHelp(ConfigSchema.of(type), ConfigSchema.of(type).defaults(), out);
    return out.toString();
  }

  private static void appendHelp(ConfigSchema schema, Object defaults, StringBuilder out) {
    for (var field : schema.fields().values()) {
      Object value;
      try {
        value = defaults == null ? null : field.component().getAccessor().invoke(defaults);
      } catch (ReflectiveOperationException e) {
        throw new IllegalStateException(e);
      }
      if (field.kind() == Kind.SECTION) {
        out.append(String.format("  --%-28s %s%n", field.path(), sectionDoc(field, value)));
        var sectionDefaults = value != null ? value : ConfigSchema.defaultsOf(field.type());
        appendHelp(field.section(), sectionDefaults, out);
        continue;
      }
      var flag = field.path() + (field.typeName().isEmpty() ? "" : " " + field.typeName());
      var shown = value == null ? "unset" : TomlWriter.literal(value);
      out.append(String.format("  --%-28s %s (default: %s)%n", flag, field.doc(), shown));
    }
  }

  private static String sectionDoc(ConfigSchema.Field field, Object value) {
    var doc = field.doc().isEmpty() ? "[" + field.path() + "] section" : field.doc();
    return value == null ? doc + " (off unless given; the bare flag turns it on)" : doc;
  }
}
