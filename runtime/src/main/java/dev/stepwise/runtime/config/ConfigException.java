package dev.stepwise.runtime.config;

import java.util.List;

/** Bad configuration: one or more problems, each already phrased as {@code <origin>: <what>}. */
public class ConfigException extends RuntimeException {

  private final List<String> problems;

  public ConfigException(List<String> problems) {
    super(String.join("\n", problems));
    this.problems = List.copyOf(problems);
  }

  public ConfigException(String problem) {
    this(List.of(problem));
  }

  public List<String> problems() {
    return problems;
  }
}
