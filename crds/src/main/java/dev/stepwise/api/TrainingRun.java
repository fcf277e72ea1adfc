package dev.stepwise.api;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn.Type;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/** One resumable training run (SFT or RL) and the workloads it owns. */
@Group(Constants.GROUP)
@Version(Constants.VERSION)
@ShortNames("tr")
@AdditionalPrinterColumn(name = "Type", jsonPath = ".spec.type", type = Type.STRING)
@AdditionalPrinterColumn(name = "Phase", jsonPath = ".status.phase", type = Type.STRING)
@AdditionalPrinterColumn(name = "Step", jsonPath = ".status.step", type = Type.INTEGER)
@AdditionalPrinterColumn(name = "Max Steps", jsonPath = ".spec.maxSteps", type = Type.INTEGER)
@AdditionalPrinterColumn(
    name = "Latest Checkpoint",
    jsonPath = ".status.latestCheckpoint",
    type = Type.INTEGER)
@AdditionalPrinterColumn(
    name = "Progress",
    jsonPath = ".status.progress.summary",
    type = Type.STRING)
@AdditionalPrinterColumn(name = "Loss", jsonPath = ".status.progress.loss", type = Type.NUMBER)
@AdditionalPrinterColumn(
    name = "Reward",
    jsonPath = ".status.progress.meanReward",
    type = Type.NUMBER)
@AdditionalPrinterColumn(
    name = "Tokens/s",
    jsonPath = ".status.progress.tokensPerSecond",
    type = Type.NUMBER,
    priority = 1)
@AdditionalPrinterColumn(name = "ETA", jsonPath = ".status.progress.eta", type = Type.STRING)
@AdditionalPrinterColumn(
    name = "Disk Used",
    jsonPath = ".status.progress.diskUsedBytes",
    type = Type.INTEGER,
    priority = 1)
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = Type.DATE)
public class TrainingRun extends CustomResource<TrainingRunSpec, TrainingRunStatus>
    implements Namespaced {

  // Overridden only to describe spec and status for `kubectl explain`.

  @Override
  @JsonPropertyDescription(
      "The run wanted: type and image, step budget, checkpointing, storage, the roles (trainer;"
          + " orchestrator and inference for rl), and requests to resume or suspend.")
  public TrainingRunSpec getSpec() {
    return super.getSpec();
  }

  @Override
  @JsonPropertyDescription(
      "What the operator observed of the run: phase, durable step, latest checkpoint, restarts and"
          + " conditions, written by the operator; and live progress, written by the run's"
          + " trainer.")
  public TrainingRunStatus getStatus() {
    return super.getStatus();
  }
}
