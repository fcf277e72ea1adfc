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
@AdditionalPrinterColumn(name = "Loss", jsonPath = ".status.metrics.loss", type = Type.NUMBER)
@AdditionalPrinterColumn(
    name = "Eval Acc",
    jsonPath = ".status.metrics.evalAccuracy",
    type = Type.NUMBER)
@AdditionalPrinterColumn(
    name = "Reward",
    jsonPath = ".status.metrics.meanReward",
    type = Type.NUMBER)
@AdditionalPrinterColumn(
    name = "Retain",
    jsonPath = ".spec.retain",
    type = Type.BOOLEAN,
    priority = 1)
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
      "The checkpoint as written: phase, files per component, size, completion time and the"
          + " training metrics at its step, written by the trainer that saved it; the operator"
          + " writes the phase while it deletes the data.")
  public CheckpointStatus getStatus() {
    return super.getStatus();
  }

  /** The name of the Checkpoint of {@code run} at {@code step}: {@code <run>-step-<n>}. */
  public static String nameOf(String run, long step) {
    return run + "-step-" + step;
  }
}
