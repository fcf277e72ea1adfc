package dev.stepwise.operator.dependent;

import dev.stepwise.api.RunType;
import dev.stepwise.api.TrainingRun;
import dev.stepwise.operator.Labels;
import dev.stepwise.operator.Roles;
import dev.stepwise.operator.config.CompactItemStore;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.javaoperatorsdk.operator.api.config.informer.Informer;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependent;
import java.util.Map;
import java.util.TreeMap;

/** ConfigMap {@code <run>-config}: the TOML of each role, mounted at /etc/stepwise. */
@KubernetesDependent(
    informer =
        @Informer(
            labelSelector = Labels.MANAGED_SELECTOR,
            itemStore = CompactItemStore.class,
            onAddFilter = OwnCreateFilter.class,
            onUpdateFilter = ChildUpdateFilter.class))
public class TrainingConfigMapDependent extends RunDependent<ConfigMap> {

  public static final String COMPONENT = "config";

  public TrainingConfigMapDependent() {
    super(ConfigMap.class);
  }

  public static String name(TrainingRun run) {
    return run.getMetadata().getName() + "-config";
  }

  @Override
  protected ConfigMap desired(TrainingRun run, Context<TrainingRun> context) {
    return new ConfigMapBuilder()
        .withMetadata(metadata(run, name(run), COMPONENT))
        .withData(files(run))
        .build();
  }

  /** File name to TOML: trainer.toml always, orchestrator.toml and inference.toml for rl. */
  static Map<String, String> files(TrainingRun run) {
    var files = new TreeMap<String, String>();
    files.put(Roles.TRAINER.configFile(), toml(run, Roles.TRAINER));
    if (run.getSpec().getType() == RunType.RL) {
      files.put(Roles.ORCHESTRATOR.configFile(), toml(run, Roles.ORCHESTRATOR));
      files.put(Roles.INFERENCE.configFile(), toml(run, Roles.INFERENCE));
    }
    return files;
  }

  /** The role's TOML from the spec, exactly as written there; empty when the spec has none. */
  static String toml(TrainingRun run, Roles role) {
    var spec = run.getSpec();
    var config =
        switch (role) {
          case TRAINER -> spec.getTrainer() == null ? null : spec.getTrainer().getConfig();
          case ORCHESTRATOR ->
              spec.getOrchestrator() == null ? null : spec.getOrchestrator().getConfig();
          case INFERENCE -> spec.getInference() == null ? null : spec.getInference().getConfig();
        };
    return config == null ? "" : config;
  }
}
