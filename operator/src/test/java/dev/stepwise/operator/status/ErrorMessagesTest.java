package dev.stepwise.operator.status;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.StatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.javaoperatorsdk.operator.AggregatedOperatorException;
import io.javaoperatorsdk.operator.OperatorException;
import io.javaoperatorsdk.operator.api.reconciler.RetryInfo;
import java.util.Map;
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

  private static KubernetesClientException forbidden(String causeType) {
    var status =
        new StatusBuilder()
            .withCode(403)
            .withReason("Forbidden")
            .withMessage(
                "unable to create new content in namespace ns because it is being terminated")
            .withNewDetails()
            .addNewCause()
            .withReason(causeType)
            .withField("metadata.namespace")
            .endCause()
            .endDetails()
            .build();
    return new KubernetesClientException(status);
  }

  /** As Java Operator SDK reports a failed workflow: one error per child, none as the cause. */
  private static OperatorException workflowFailed(Exception child) {
    return new OperatorException(
        new AggregatedOperatorException(
            "Exception(s) during workflow execution", Map.of("runtime-rolebinding", child)));
  }

  @Test
  void aRefusalBecauseTheNamespaceIsBeingDeletedIsRecognisedInsideAWorkflowError() {
    assertTrue(ErrorMessages.isNamespaceTerminating(forbidden("NamespaceTerminating")));
    assertTrue(
        ErrorMessages.isNamespaceTerminating(workflowFailed(forbidden("NamespaceTerminating"))));
    assertFalse(
        ErrorMessages.isNamespaceTerminating(workflowFailed(forbidden("FieldValueForbidden"))));
    assertFalse(
        ErrorMessages.isNamespaceTerminating(
            new KubernetesClientException("Forbidden", 403, null)));
  }

  @Test
  void aConflictOfOneChildIsRetriedQuietlyToo() {
    var conflict =
        workflowFailed(new KubernetesClientException("Operation cannot be fulfilled", 409, null));
    assertFalse(ErrorMessages.worthReporting(conflict, Optional.of(attempt(1, false))));
  }

  @Test
  void otherErrorsAreReportedAtOnce() {
    var serverError = new KubernetesClientException("Internal error", 500, null);
    assertTrue(ErrorMessages.worthReporting(serverError, Optional.of(attempt(1, false))));
    assertTrue(ErrorMessages.worthReporting(new IllegalArgumentException("bad"), Optional.empty()));
  }
}
