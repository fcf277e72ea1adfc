package dev.stepwise.operator.validation;

import dev.stepwise.api.TrainingRun;
import dev.stepwise.operator.Labels;
import dev.stepwise.operator.config.CompactItemStore;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The claims that runs name in spec.storage.existingClaim, served from an informer on the claims
 * the operator did not make: validating a run reads its claim from the cache and asks the API
 * server only when the cache does not have it (just created, really missing, or a claim the
 * operator made for another run), so a run whose claim exists costs no request per reconcile. A
 * claim of the user's that appears, changes or goes triggers the runs that name it; one the
 * operator makes is noticed by a run that waits for it at its next recheck. The operator's own
 * claims are left out of this informer because their every event (creation, binding, status) would
 * otherwise be received, stored and mapped twice, here and by the informer of the runs' claims.
 */
public final class ExistingClaims {

  /** Name of the informer, apart from the one of the claims the operator creates. */
  public static final String EVENT_SOURCE = "existing-claims";

  static final String INDEX = "existing-claim";

  private ExistingClaims() {}

  /** The informer on claims, to register with the run's event sources. */
  public static InformerEventSource<PersistentVolumeClaim, TrainingRun> eventSource(
      EventSourceContext<TrainingRun> context) {
    var runs = context.getPrimaryCache();
    runs.addIndexer(INDEX, ExistingClaims::indexKeys);
    var claims =
        InformerEventSourceConfiguration.from(PersistentVolumeClaim.class, TrainingRun.class)
            .withItemStore(new CompactItemStore<>())
            .withName(EVENT_SOURCE)
            .withLabelSelector(Labels.MANAGED_BY + "!=" + Labels.OPERATOR_NAME)
            .withSecondaryToPrimaryMapper(
                (PersistentVolumeClaim c) ->
                    runs
                        .byIndex(
                            INDEX, key(c.getMetadata().getNamespace(), c.getMetadata().getName()))
                        .stream()
                        .map(ResourceID::fromResource)
                        .collect(Collectors.toSet()))
            .build();
    return new InformerEventSource<>(claims, context);
  }

  static List<String> indexKeys(TrainingRun run) {
    var claim = claimOf(run);
    return claim == null ? List.of() : List.of(key(run.getMetadata().getNamespace(), claim));
  }

  private static String key(String namespace, String claim) {
    return namespace + "/" + claim;
  }

  static String claimOf(TrainingRun run) {
    var spec = run.getSpec();
    return spec == null || spec.getStorage() == null ? null : spec.getStorage().getExistingClaim();
  }

  /** Whether claim {@code name} exists in the run's namespace: the cache, else the API server. */
  static boolean exists(TrainingRun run, String name, Context<TrainingRun> context) {
    var namespace = run.getMetadata().getNamespace();
    var informer =
        (InformerEventSource<PersistentVolumeClaim, TrainingRun>)
            context
                .eventSourceRetriever()
                .getEventSourceFor(PersistentVolumeClaim.class, EVENT_SOURCE);
    var cached = informer.get(new ResourceID(name, namespace));
    return cached.isPresent()
        || context.getClient().persistentVolumeClaims().inNamespace(namespace).withName(name).get()
            != null;
  }
}
