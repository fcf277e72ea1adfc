package dev.stepwise.runtime.util;

/** The pause between polls of a wait loop. */
public final class Polling {

  private Polling() {}

  /**
   * Sleeps {@code millis}; an interrupt is kept (the flag set again) and ends the wait with an
   * {@link IllegalStateException}.
   */
  public static void pause(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }
}
