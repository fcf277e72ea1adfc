package dev.stepwise.runtime.config;

/** Which checkpoint to resume from: a step number, or {@code latest} (the newest complete one). */
public record ResumeStep(long step, boolean latest) {

  public static ResumeStep of(long step) {
    return new ResumeStep(step, false);
  }

  public static ResumeStep latestStep() {
    return new ResumeStep(-1, true);
  }

  /** Binder hook: accepts a non-negative integer or the string {@code "latest"}. */
  public static ResumeStep fromConfig(Object value) {
    if (value instanceof Long n && n >= 0) {
      return of(n);
    }
    if ("latest".equals(value)) {
      return latestStep();
    }
    throw new IllegalArgumentException(
        "must be a step number >= 0 or \"latest\", got "
            + (value instanceof String s ? "'" + s + "'" : value));
  }

  @Override
  public String toString() {
    return latest ? "latest" : Long.toString(step);
  }
}
