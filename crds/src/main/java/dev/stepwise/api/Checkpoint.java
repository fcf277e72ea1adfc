package dev.stepwise.api;

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
    implements Namespaced {}
