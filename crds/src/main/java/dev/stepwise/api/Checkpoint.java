package dev.stepwise.api;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn.Type;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/** One complete checkpoint of a {@link TrainingRun}, named {@code <run>-step-<n>}. */
@Group(Constants.GROUP)
@Version(Constants.VERSION)
@ShortNames("ckpt")
@AdditionalPrinterColumn(name = "Run", jsonPath = ".spec.trainingRun", type = Type.STRING)
@AdditionalPrinterColumn(name = "Step", jsonPath = ".spec.step", type = Type.INTEGER)
@AdditionalPrinterColumn(name = "Phase", jsonPath = ".status.phase", type = Type.STRING)
@AdditionalPrinterColumn(name = "Size", jsonPath = ".status.sizeBytes", type = Type.INTEGER)
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = Type.DATE)
public class Checkpoint extends CustomResource<CheckpointSpec, CheckpointStatus>
    implements Namespaced {

  // Overridden only to describe spec and status for `kubectl explain`.

  @Override
  @JsonPropertyDescription(
      "Which checkpoint this is (training run and step, both fixed once created) and whether"
          + " retention must keep it.")
  public CheckpointSpec getSpec() {
    return super.getSpec();
  }

  @Override
  @JsonPropertyDescription(
      "What the operator observed of the checkpoint: phase, files per component, size and"
          + " completion time. Written by the operator only.")
  public CheckpointStatus getStatus() {
    return super.getStatus();
  }

  /** The name of the Checkpoint of {@code run} at {@code step}: {@code <run>-step-<n>}. */
  public static String nameOf(String run, long step) {
    return run + "-step-" + step;
  }
}
