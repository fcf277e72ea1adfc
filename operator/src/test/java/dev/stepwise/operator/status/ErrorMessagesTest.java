package dev.stepwise.operator.status;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.client.KubernetesClientException;
import io.javaoperatorsdk.operator.api.reconciler.RetryInfo;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ErrorMessagesTest {

  private static RetryInfo attempt(int n, boolean last) {
    return new RetryInfo() {
      @Override
      public int getAttemptCount() {
        return n;
      }

      @Override
      public boolean isLastAttempt() {
        return last;
      }
    };
  }

  @Test
  void aConflictIsRetriedQuietlyUntilTheLastAttempt() {
    var conflict =
        new IllegalStateException(
            new KubernetesClientException("Operation cannot be fulfilled", 409, null));
    assertFalse(ErrorMessages.worthReporting(conflict, Optional.of(attempt(1, false))));
    assertTrue(ErrorMessages.worthReporting(conflict, Optional.of(attempt(5, true))));
  }

  @Test
  void otherErrorsAreReportedAtOnce() {
    var serverError = new KubernetesClientException("Internal error", 500, null);
    assertTrue(ErrorMessages.worthReporting(serverError, Optional.of(attempt(1, false))));
    assertTrue(ErrorMessages.worthReporting(new IllegalArgumentException("bad"), Optional.empty()));
  }
}
