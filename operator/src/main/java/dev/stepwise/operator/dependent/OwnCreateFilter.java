package dev.stepwise.operator.dependent;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.filter.OnAddFilter;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Which ADDED events of a run's children reconcile the run: not the one of a child this operator
 * has just created (the reconcile that created it already saw it), every other one.
 *
 * <p>Java Operator SDK 5.3.2 recognises the event of its own create by the resource version the
 * create returned, but keeps that version aside only while its informer has not yet received it.
 * Under load an informer's handlers run behind its watch (the event is received, put in the cache,
 * and handed to the handler later), so the ADDED event of a create was often handled after the SDK
 * had stopped looking for it and was taken for someone else's change: a second, idle reconcile of
 * nearly every run of a burst (ScaleBenchmarkE2E). The dependents report each create here ({@link
 * #created}); one whose object the informer already holds when the create returns (its event
 * received, so the SDK will not keep the version aside) is recorded, and the ADDED event carrying
 * exactly the created version is then dropped once. Records are bounded in number and age (the SDK
 * may still recognise such an event itself and leave a record behind); a record lost to either
 * bound costs one reconcile, nothing else.
 *
 * <p>The records are shared by all informers of the dependents (Java Operator SDK instantiates
 * filters and dependents itself), keyed by kind, namespace and name.
 */
public class OwnCreateFilter implements OnAddFilter<HasMetadata> {

  /** Most creates remembered: some seconds' worth of creates of a large burst. */
  static final int MAX_RECORDS = 20_000;

  /** How long a create is remembered; its event comes within seconds. */
  static final long MAX_AGE_NANOS = 5L * 60 * 1_000_000_000;

  private static final Map<String, Record> CREATED = new Records();

  private record Record(String resourceVersion, long createdAtNanos) {}

  /** Insertion-ordered; the oldest record goes when there are too many or it is too old. */
  private static final class Records extends LinkedHashMap<String, Record> {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Record> eldest) {
      return size() > MAX_RECORDS
          || System.nanoTime() - eldest.getValue().createdAtNanos() > MAX_AGE_NANOS;
    }
  }

  /**
   * Records {@code child}, just created by this operator, if {@code informer} (the dependent's)
   * already holds it; returns it.
   */
  static <R extends HasMetadata> R created(
      R child, Optional<? extends InformerEventSource<R, ?>> informer) {
    return created(child, informer.flatMap(i -> i.get(ResourceID.fromResource(child))).isPresent());
  }

  /** Records {@code child}, just created, if its ADDED event was {@code received} already. */
  static <R extends HasMetadata> R created(R child, boolean received) {
    var version = child.getMetadata().getResourceVersion();
    if (version != null && received) {
      synchronized (CREATED) {
        CREATED.put(key(child), new Record(version, System.nanoTime()));
      }
    }
    return child;
  }

  @Override
  public boolean accept(HasMetadata added) {
    var version = added.getMetadata().getResourceVersion();
    synchronized (CREATED) {
      var record = CREATED.get(key(added));
      if (record != null && record.resourceVersion().equals(version)) {
        CREATED.remove(key(added));
        return false;
      }
      return true;
    }
  }

  private static String key(HasMetadata object) {
    var meta = object.getMetadata();
    return object.getApiVersion()
        + "/"
        + object.getKind()
        + "/"
        + meta.getNamespace()
        + "/"
        + meta.getName();
  }
}
