package dev.stepwise.runtime.config;

/** Where a config value came from: a TOML file (and line), a command-line flag, or a default. */
public record Origin(String file, int line, String flag) {

  public static final Origin DEFAULT = new Origin(null, 0, null);

  public static Origin file(String file, int line) {
    return new Origin(file, line, null);
  }

  public static Origin flag(String flag) {
    return new Origin(null, 0, flag);
  }

  public boolean isFlag() {
    return flag != null;
  }

  /**
   * The prefix of an error message: {@code sft.toml:7}, {@code sft.toml} or {@code --max-steps}.
   */
  @Override
  public String toString() {
    if (flag != null) {
      return flag;
    }
    if (file == null) {
      return "default";
    }
    return line > 0 ? file + ":" + line : file;
  }
}
