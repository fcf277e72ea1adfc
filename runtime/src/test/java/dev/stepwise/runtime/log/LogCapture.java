package dev.stepwise.runtime.log;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.function.Predicate;

/**
 * The log lines a block of a test writes, as the human format writes them: lines below ERROR in
 * {@link #out}, errors in {@link #err}. Closing it restores the destination before it.
 */
public final class LogCapture implements AutoCloseable {

  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();
  private final Console.Scope scope;

  private LogCapture(Predicate<String> loggers) {
    scope =
        Console.capture(
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8),
            loggers);
  }

  /** Captures every logger's lines. */
  public static LogCapture start() {
    return new LogCapture(name -> true);
  }

  /** Captures the lines of the loggers under {@code prefix} (a package, a class) only. */
  public static LogCapture of(String prefix) {
    return new LogCapture(name -> name.startsWith(prefix));
  }

  /**
   * Sends every logger's lines, errors included, to {@code sink} (a stream that watches for a line)
   * until the returned scope closes.
   */
  public static Console.Scope into(PrintStream sink, Predicate<String> loggers) {
    return Console.capture(sink, sink, loggers);
  }

  public String out() {
    return out.toString(StandardCharsets.UTF_8);
  }

  public String err() {
    return err.toString(StandardCharsets.UTF_8);
  }

  @Override
  public void close() {
    scope.close();
  }
}
