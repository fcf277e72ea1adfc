package dev.stepwise.runtime.log;

/** How log lines are written ({@code --log.format}). */
public enum LogFormat {
  /** The message alone, as a terminal has always shown it. */
  HUMAN,
  /** One JSON object a line: time, level, logger, message and structured fields (in pods). */
  JSON
}
