package dev.stepwise.runtime.parallel;

import dev.stepwise.runtime.log.Console;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/** Copies a child process's output to ours, line by line, each line prefixed. */
public final class ChildOutput {

  private ChildOutput() {}

  /**
   * Starts a daemon thread named {@code threadName} that writes each line of {@code stream} to our
   * output ({@code error}: the error stream) after {@code prefix} ({@link Console#relay}: in the
   * JSON format a child's JSON line as it is, another line as a JSON line carrying {@code fields}),
   * until the stream ends or fails (the child is gone; its exit status tells the story).
   */
  public static Thread pump(
      InputStream stream,
      String prefix,
      boolean error,
      Map<String, Object> fields,
      String threadName) {
    var thread =
        new Thread(
            () -> {
              try (var reader =
                  new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8))) {
                String line;
                while ((line = reader.readLine()) != null) {
                  Console.relay(prefix, line, error, fields);
                }
              } catch (IOException e) {
                // the child is gone; its exit status tells the story
              }
            },
            threadName);
    thread.setDaemon(true);
    thread.start();
    return thread;
  }
}
