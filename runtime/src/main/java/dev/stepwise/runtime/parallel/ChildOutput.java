package dev.stepwise.runtime.parallel;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/** Copies a child process's output to ours, line by line, each line prefixed. */
public final class ChildOutput {

  private ChildOutput() {}

  /**
   * Starts a daemon thread named {@code threadName} that prints each line of {@code stream} to
   * {@code sink} after {@code prefix} (whole lines: the sink is locked per line), until the stream
   * ends or fails (the child is gone; its exit status tells the story).
   */
  public static Thread pump(
      InputStream stream, String prefix, PrintStream sink, String threadName) {
    var thread =
        new Thread(
            () -> {
              try (var reader =
                  new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8))) {
                String line;
                while ((line = reader.readLine()) != null) {
                  synchronized (sink) {
                    sink.println(prefix + line);
                  }
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
