package dev.stepwise.operator;

import dev.stepwise.api.Constants;
import dev.stepwise.api.TrainingRun;
import java.util.Map;
import java.util.TreeMap;

/**
 * The recommended app.kubernetes.io labels the operator puts on the objects of a run, and their
 * selectors. Keys the runtime shares (the run label, the Checkpoint phase label, the finalizer) are
 * in {@link Constants}.
 */
public final class Labels {

  public static final String NAME = "app.kubernetes.io/name";
  public static final String INSTANCE = "app.kubernetes.io/instance";
  public static final String COMPONENT = "app.kubernetes.io/component";
  public static final String PART_OF = "app.kubernetes.io/part-of";
  public static final String MANAGED_BY = "app.kubernetes.io/managed-by";

  public static final String APP_NAME = "stepwise";
  public static final String OPERATOR_NAME = "stepwise-operator";

  /** Informers of the run's children watch only objects this operator manages. */
  public static final String MANAGED_SELECTOR = MANAGED_BY + "=" + OPERATOR_NAME;

  /** Hash of a role's TOML on its pod template, so a config change rolls the pods. */
  public static final String CONFIG_HASH_ANNOTATION = "stepwise.dev/config-hash";

  /** Revision labels Kubernetes puts on StatefulSet and ReplicaSet pods. */
  public static final String CONTROLLER_REVISION = "controller-revision-hash";

  public static final String POD_TEMPLATE_HASH = "pod-template-hash";

  /** Set by Kubernetes (1.28+) on StatefulSet pods: the pod ordinal, used as the trainer rank. */
  public static final String POD_INDEX = "apps.kubernetes.io/pod-index";

  private Labels() {}

  /** Every label of an object of {@code run} in the given role. */
  public static Map<String, String> of(TrainingRun run, String component) {
    var labels = new TreeMap<>(selector(run, component));
    labels.put(PART_OF, APP_NAME);
    labels.put(MANAGED_BY, OPERATOR_NAME);
    labels.put(Constants.LABEL_TRAINING_RUN, run.getMetadata().getName());
    return labels;
  }

  /** The stable subset used in selectors (a StatefulSet's selector cannot change). */
  public static Map<String, String> selector(TrainingRun run, String component) {
    return new TreeMap<>(
        Map.of(NAME, APP_NAME, INSTANCE, run.getMetadata().getName(), COMPONENT, component));
  }
}
