package dev.stepwise.operator.dependent;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.apps.StatefulSetBuilder;
import org.junit.jupiter.api.Test;

class DesiredStateMatcherTest {

  static StatefulSet desired() {
    return new StatefulSetBuilder()
        .withNewMetadata()
        .withName("r-trainer")
        .addToLabels("a", "1")
        .endMetadata()
        .withNewSpec()
        .withReplicas(2)
        .withNewTemplate()
        .withNewSpec()
        .addNewContainer()
        .withName("trainer")
        .withArgs("sft", "--max-steps", "20")
        .endContainer()
        .endSpec()
        .endTemplate()
        .endSpec()
        .build();
  }

  @Test
  void defaultsAndExtraLabelsAddedByTheClusterStillMatch() {
    var actual =
        new StatefulSetBuilder(desired())
            .editMetadata()
            .addToLabels("added-by-someone", "x")
            .withResourceVersion("7")
            .endMetadata()
            .editSpec()
            .withRevisionHistoryLimit(10)
            .editTemplate()
            .editSpec()
            .withRestartPolicy("Always")
            .editFirstContainer()
            .withTerminationMessagePath("/dev/termination-log")
            .endContainer()
            .endSpec()
            .endTemplate()
            .endSpec()
            .withNewStatus()
            .withReadyReplicas(2)
            .endStatus()
            .build();
    assertTrue(DesiredStateMatcher.matches(desired(), actual));
  }

  @Test
  void aChangedValueDoesNotMatch() {
    var actual = new StatefulSetBuilder(desired()).editSpec().withReplicas(1).endSpec().build();
    assertFalse(DesiredStateMatcher.matches(desired(), actual));
  }

  @Test
  void aRemovedArgumentDoesNotMatch() {
    var actual =
        new StatefulSetBuilder(desired())
            .editSpec()
            .editTemplate()
            .editSpec()
            .editFirstContainer()
            .withArgs("sft", "--max-steps", "20", "--ckpt")
            .endContainer()
            .endSpec()
            .endTemplate()
            .endSpec()
            .build();
    assertFalse(DesiredStateMatcher.matches(desired(), actual));
  }

  @Test
  void quantitiesTheApiServerRewritesStillMatchButOtherAmountsDoNot() {
    var normalised = withCpu(desiredWithCpu("0.5"), "500m");
    assertTrue(DesiredStateMatcher.matches(desiredWithCpu("0.5"), normalised));
    assertFalse(DesiredStateMatcher.matches(desiredWithCpu("1"), normalised));
  }

  private static StatefulSet desiredWithCpu(String cpu) {
    return withCpu(desired(), cpu);
  }

  private static StatefulSet withCpu(StatefulSet sts, String cpu) {
    return new StatefulSetBuilder(sts)
        .editSpec()
        .editTemplate()
        .editSpec()
        .editFirstContainer()
        .withNewResources()
        .addToRequests("cpu", new Quantity(cpu))
        .endResources()
        .endContainer()
        .endSpec()
        .endTemplate()
        .endSpec()
        .build();
  }

  @Test
  void aChangedLabelDoesNotMatch() {
    var actual =
        new StatefulSetBuilder(desired())
            .editMetadata()
            .addToLabels("a", "2")
            .endMetadata()
            .build();
    assertFalse(DesiredStateMatcher.matches(desired(), actual));
  }
}
