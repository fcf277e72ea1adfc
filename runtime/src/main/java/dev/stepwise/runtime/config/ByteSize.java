package dev.stepwise.runtime.config;

import io.fabric8.kubernetes.api.model.Quantity;
import java.math.BigDecimal;

/**
 * A number of bytes, given as an integer or as a Kubernetes quantity ({@code 50Gi}, {@code 500M},
 * {@code 1.5Ti}): the same values {@code spec.ckpt.maxBytes} takes, read the same way.
 */
public record ByteSize(long bytes, String text) {

  public ByteSize {
    if (bytes < 0) {
      throw new IllegalArgumentException("must be >= 0 bytes, got " + bytes);
    }
  }

  /** Binder hook: a non-negative integer of bytes or a quantity string. */
  public static ByteSize fromConfig(Object value) {
    if (value instanceof Long n) {
      if (n < 0) {
        throw new IllegalArgumentException("must be >= 0 bytes, got " + n);
      }
      return new ByteSize(n, Long.toString(n));
    }
    if (value instanceof String s && !s.isBlank()) {
      return parse(s.strip());
    }
    throw new IllegalArgumentException(
        "must be a number of bytes or a quantity like 50Gi or 500M, got "
            + (value instanceof String s ? "'" + s + "'" : value));
  }

  private static ByteSize parse(String text) {
    BigDecimal amount;
    try {
      amount = Quantity.parse(text).getNumericalAmount();
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(
          "must be a number of bytes or a quantity like 50Gi or 500M, got '" + text + "'");
    }
    if (amount.signum() < 0) {
      throw new IllegalArgumentException("must be >= 0 bytes, got '" + text + "'");
    }
    try {
      return new ByteSize(amount.longValueExact(), text);
    } catch (ArithmeticException e) {
      throw new IllegalArgumentException(
          "must be a whole number of bytes below 2^63, got '" + text + "' (" + amount + ")");
    }
  }

  @Override
  public String toString() {
    return text;
  }
}
