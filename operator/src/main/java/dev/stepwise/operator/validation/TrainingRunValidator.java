package dev.stepwise.operator.validation;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import dev.stepwise.api.RunType;
import dev.stepwise.api.TrainingRun;
import dev.stepwise.operator.status.ConditionReason;
import io.fabric8.kubernetes.api.model.Quantity;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Checks what the CRD schema cannot: that referenced objects exist and that embedded TOML parses.
 * Also guards the required fields, for API servers that did not enforce the schema.
 */
public class TrainingRunValidator {

  private static final TomlMapper TOML = new TomlMapper();

  /** The first problem found, in the order a user would fix them. */
  public Optional<SpecProblem> validate(TrainingRun run, Context<TrainingRun> context) {
    var spec = run.getSpec();
    if (spec == null || spec.getType() == null) {
      return Optional.of(
          new SpecProblem("spec.type", ConditionReason.InvalidSpec, "required: sft or rl"));
    }
    if (spec.getMaxSteps() == null || spec.getMaxSteps() < 1) {
      return Optional.of(
          new SpecProblem(
              "spec.maxSteps", ConditionReason.InvalidSpec, "required, and at least 1"));
    }
    var quota = spec.getCkpt() == null ? null : spec.getCkpt().getMaxBytes();
    if (quota != null && !isWholeBytes(quota)) {
      return Optional.of(
          new SpecProblem(
              "spec.ckpt.maxBytes",
              ConditionReason.InvalidSpec,
              "must be a whole number of bytes (such as 50Gi or 1000000), got " + quota));
    }
    for (var config : configs(run)) {
      var problem = tomlProblem(config.field(), config.toml());
      if (problem.isPresent()) {
        return problem;
      }
    }
    var storage = spec.getStorage();
    if (storage != null && storage.getExistingClaim() != null) {
      var namespace = run.getMetadata().getNamespace();
      if (!ExistingClaims.exists(run, storage.getExistingClaim(), context)) {
        return Optional.of(
            new SpecProblem(
                "spec.storage.existingClaim",
                ConditionReason.ExistingClaimNotFound,
                "PersistentVolumeClaim \"%s\" not found in namespace \"%s\"; create it or remove"
                        .formatted(storage.getExistingClaim(), namespace)
                    + " existingClaim to let the operator create one"));
      }
    }
    return Optional.empty();
  }

  private record Config(String field, String toml) {}

  private static List<Config> configs(TrainingRun run) {
    var spec = run.getSpec();
    var configs = new ArrayList<Config>();
    if (spec.getTrainer() != null) {
      configs.add(new Config("spec.trainer.config", spec.getTrainer().getConfig()));
    }
    if (spec.getType() == RunType.RL && spec.getOrchestrator() != null) {
      configs.add(new Config("spec.orchestrator.config", spec.getOrchestrator().getConfig()));
    }
    if (spec.getType() == RunType.RL && spec.getInference() != null) {
      configs.add(new Config("spec.inference.config", spec.getInference().getConfig()));
    }
    return configs;
  }

  static Optional<SpecProblem> tomlProblem(String field, String toml) {
    if (toml == null || toml.isBlank()) {
      return Optional.empty();
    }
    try {
      TOML.readTree(toml);
      return Optional.empty();
    } catch (JsonProcessingException e) {
      var location = e.getLocation();
      var where = location == null ? "" : " at line " + location.getLineNr();
      return Optional.of(
          new SpecProblem(
              field,
              ConditionReason.InvalidConfig,
              "not valid TOML" + where + ": " + e.getOriginalMessage()));
    }
  }

  private static boolean isWholeBytes(Quantity quantity) {
    try {
      var amount = quantity.getNumericalAmount();
      return amount.signum() >= 0 && amount.stripTrailingZeros().scale() <= 0;
    } catch (RuntimeException e) {
      return false;
    }
  }
}
