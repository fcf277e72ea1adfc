package dev.stepwise.runtime.config;

import dev.stepwise.runtime.log.LogFormat;
import org.slf4j.event.Level;

/** Logging: the trainers' step lines, and the format and level of every command's log lines. */
public record LogConfig(
    @Doc("Print a trainer step line every N steps") @Min(1) int interval,
    @Doc("Print a trainer progress line with ETA every N steps (0 = about every 10%)") @Min(0)
        int progressInterval,
    @Doc(
            "human: the plain lines a terminal shows; json: one JSON object a line (time, level,"
                + " logger, message and fields such as step)")
        LogFormat format,
    @Doc("Lowest level written (libraries' lines from warn unless debug or trace)") Level level) {

  public static LogConfig defaults() {
    return new LogConfig(1, 0, LogFormat.HUMAN, Level.INFO);
  }
}
