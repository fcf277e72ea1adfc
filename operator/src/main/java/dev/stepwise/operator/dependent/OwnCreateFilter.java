package dev.stepwise.operator.dependent;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.javaoperatorsdk.operator.processing.event.source.filter.OnAddFilter;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Which ADDED events of a run's children reconcile the run: not the one of a child this operator
 * has just created (the reconcile that created it already saw it), every other one.
 *
 * <p>Java Operator SDK 5.3.2 recognises the event of its own create by the resource version the
 * create returned, but keeps that version aside only while its informer has not yet received a
 * later one. Under load an informer's handlers run behind its watch (the event is received, put in
 * the cache, and handed to the handler later), so the ADDED event of a create was often handled
 * after the SDK had stopped looking for it and was taken for someone else's change: a second, idle
 * reconcile of nearly every run of a burst (ScaleBenchmarkE2E). Each create is recorded here by the
 * dependents ({@link #created}), and the ADDED event carrying exactly the created version is
 * dropped once. A create whose event the SDK did recognise leaves its record behind; records are
 * bounded in number and age, and a record lost to either bound costs one reconcile, nothing else.
 *
 * <p>The records are shared by all informers of the dependents (Java Operator SDK instantiates
 * filters and dependents itself), keyed by kind, namespace, name and version.
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

  /** Records {@code child} as just created by this operator; returns it. */
  static <R extends HasMetadata> R created(R child) {
    var version = child.getMetadata().getResourceVersion();
    if (version != null) {
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
