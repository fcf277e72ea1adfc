package dev.stepwise.runtime.log;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stepwise.runtime.config.LogConfig;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Predicate;
import org.slf4j.event.Level;

/**
 * Where the runtime's log lines go: every SLF4J logger of the process writes through here ({@link
 * ConsoleLogging}). Lines below ERROR go to the out stream and errors to the err stream, as the
 * runtime's output always went; in the format and from the level {@code --log.format} and {@code
 * --log.level} set. Libraries (a Kubernetes client, the tokenizers) speak from WARN, unless the
 * level is DEBUG or finer.
 */
public final class Console {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String RUNTIME = "dev.stepwise.";

  /** Everything a line needs to know about where it goes. */
  private record Target(
      LogFormat format,
      Level level,
      PrintStream out,
      PrintStream err,
      Map<String, Object> context,
      Predicate<String> loggers) {

    Target with(LogFormat format, Level level) {
      return new Target(format, level, out, err, context, loggers);
    }
  }

  private static volatile Target target =
      new Target(LogFormat.HUMAN, Level.INFO, System.out, System.err, Map.of(), name -> true);

  private Console() {}

  /** Restores the destination that was in effect before it was opened. */
  public interface Scope extends AutoCloseable {
    @Override
    void close();
  }

  /**
   * Sends the lines of every logger to {@code out} and {@code err}, in the human format from INFO,
   * until the scope closes (then the previous destination is back). {@code context} fields go into
   * each JSON line ({@code role}, {@code rank}).
   */
  public static Scope open(PrintStream out, PrintStream err, Map<String, Object> context) {
    return swap(new Target(LogFormat.HUMAN, Level.INFO, out, err, Map.copyOf(context), n -> true));
  }

  /**
   * As {@link #open(PrintStream, PrintStream, Map)}, keeping only the lines of the loggers {@code
   * loggers} accepts (a test that watches one role of several in one process).
   */
  public static Scope capture(PrintStream out, PrintStream err, Predicate<String> loggers) {
    return swap(new Target(LogFormat.HUMAN, Level.INFO, out, err, Map.of(), loggers));
  }

  /** Drops every line until the scope closes (a benchmark that measures, not reports, saves). */
  public static Scope quiet() {
    var current = target;
    return swap(
        new Target(
            current.format(),
            Level.ERROR,
            current.out(),
            current.err(),
            current.context(),
            n -> false));
  }

  private static synchronized Scope swap(Target next) {
    var previous = target;
    target = next;
    return () -> {
      synchronized (Console.class) {
        target = previous;
      }
    };
  }

  /** Applies {@code --log.format} and {@code --log.level} to the destination in effect. */
  public static synchronized void configure(LogConfig config) {
    configure(config.format(), config.level());
  }

  /** Applies a format and a level to the destination in effect. */
  public static synchronized void configure(LogFormat format, Level level) {
    target = target.with(format, level);
  }

  /** The format in effect. */
  public static LogFormat format() {
    return target.format();
  }

  static boolean enabled(String logger, Level level) {
    var t = target;
    var threshold = t.level();
    if (!logger.startsWith(RUNTIME) && threshold.toInt() > Level.DEBUG.toInt()) {
      threshold = Level.WARN;
    }
    return level.toInt() >= threshold.toInt() && t.loggers().test(logger);
  }

  /** Writes one line, if its logger and level are enabled. */
  static void write(
      long millis,
      Level level,
      String logger,
      String message,
      Map<String, Object> fields,
      Throwable error) {
    var t = target;
    if (!enabled(logger, level)) {
      return;
    }
    String line;
    if (t.format() == LogFormat.JSON) {
      var json = new LinkedHashMap<String, Object>();
      json.put("time", Instant.ofEpochMilli(millis).toString());
      json.put("level", level.name());
      json.put("logger", logger);
      json.put("message", message);
      t.context().forEach(json::putIfAbsent);
      fields.forEach(json::putIfAbsent);
      if (error != null) {
        json.put("exception", stackTrace(error));
      }
      line = json(json);
    } else {
      line = error == null ? message : message + ": " + error;
    }
    (level == Level.ERROR ? t.err() : t.out()).println(line);
  }

  /**
   * Copies one line of a child process's output (a rank, a role) to ours: after {@code prefix} in
   * the human format; in the JSON format a child's JSON line as it is, any other line (a JVM crash,
   * a native library) as the message of a line carrying {@code fields}.
   */
  public static void relay(String prefix, String line, boolean error, Map<String, Object> fields) {
    var t = target;
    var stream = error ? t.err() : t.out();
    if (t.format() == LogFormat.HUMAN) {
      stream.println(prefix + line);
    } else if (line.startsWith("{") && line.endsWith("}")) {
      stream.println(line);
    } else {
      var json = new LinkedHashMap<String, Object>();
      json.put("time", Instant.ofEpochMilli(System.currentTimeMillis()).toString());
      json.put("level", error ? Level.ERROR.name() : Level.INFO.name());
      json.put("logger", "child");
      json.put("message", line);
      t.context().forEach(json::putIfAbsent);
      fields.forEach(json::put);
      stream.println(json(json));
    }
  }

  private static String json(Map<String, Object> fields) {
    try {
      return JSON.writeValueAsString(fields);
    } catch (JsonProcessingException e) {
      return "{\"level\":\"ERROR\",\"message\":\"unwritable log line: " + e.getMessage() + "\"}";
    }
  }

  private static String stackTrace(Throwable error) {
    var text = new StringWriter();
    error.printStackTrace(new PrintWriter(text));
    return text.toString();
  }
}
