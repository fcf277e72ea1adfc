package dev.stepwise.runtime.checkpoint;

import java.util.function.BooleanSupplier;

/**
 * Spreads a background save's writes over time: after each slice written, sleeps until the bytes
 * written so far are not ahead of {@code bytesPerSecond}. A save written at full speed competes
 * with training for memory bandwidth and, on a small machine, for the cores (the kernel's
 * page-cache copy and writeback run on them too); one spread over part of the time until the next
 * save costs each training step much less. Thread-safe; the clock starts at the first slice.
 */
public final class Pacer {

  private static final Pacer UNLIMITED = new Pacer(Double.POSITIVE_INFINITY, () -> true);

  private final double bytesPerSecond;
  private final BooleanSupplier hurry;
  private long start = -1;
  private long bytes;

  private Pacer(double bytesPerSecond, BooleanSupplier hurry) {
    this.bytesPerSecond = bytesPerSecond;
    this.hurry = hurry;
  }

  /** No pacing: write as fast as the disk takes it. */
  public static Pacer unlimited() {
    return UNLIMITED;
  }

  /**
   * Writes at most {@code bytesPerSecond} on average (unlimited if not positive and finite), and at
   * full speed from the moment {@code hurry} says so (the run ends, a stop signal came).
   */
  public static Pacer of(double bytesPerSecond, BooleanSupplier hurry) {
    return bytesPerSecond > 0 && Double.isFinite(bytesPerSecond)
        ? new Pacer(bytesPerSecond, hurry)
        : UNLIMITED;
  }

  /** Accounts {@code n} bytes just written and waits as long as the pace requires. */
  public void wrote(long n) {
    if (this == UNLIMITED || hurry.getAsBoolean()) {
      return;
    }
    long waitNanos;
    synchronized (this) {
      var now = System.nanoTime();
      if (start < 0) {
        start = now;
      }
      bytes += n;
      waitNanos = (long) (bytes / bytesPerSecond * 1e9) - (now - start);
    }
    if (waitNanos > 0) {
      try {
        Thread.sleep(waitNanos / 1_000_000, (int) (waitNanos % 1_000_000));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt(); // stop pacing; the write itself goes on
      }
    }
  }

  public double bytesPerSecond() {
    return bytesPerSecond;
  }
}
