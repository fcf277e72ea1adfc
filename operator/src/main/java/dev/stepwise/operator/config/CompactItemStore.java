package dev.stepwise.operator.config;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.informers.cache.Cache;
import io.fabric8.kubernetes.client.informers.cache.ItemStore;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import java.util.zip.Deflater;
import java.util.zip.DeflaterOutputStream;
import java.util.zip.InflaterInputStream;

/**
 * The store of every informer of the operator: it keeps each object as its deflated JSON, without
 * {@code metadata.managedFields}, and reads a fresh copy back on every get. A Fabric8 object graph
 * costs several times its JSON (an empty map of additional properties in every nested object, a
 * String per value): as objects, the caches held about 90 KiB per run (ScaleBenchmarkE2E, 200 runs,
 * live objects after a full GC), as deflated JSON about 31 KiB. Readers get their own copy, so none
 * can change the cache under another.
 */
public class CompactItemStore<T extends HasMetadata> implements ItemStore<T> {

  private static final ObjectMapper JSON = new ObjectMapper();

  static {
    new KubernetesSerialization(JSON, true); // configures JSON as the Fabric8 client's mapper
  }

  private final ConcurrentHashMap<String, byte[]> items = new ConcurrentHashMap<>();
  private volatile Class<? extends HasMetadata> type;

  @Override
  public String getKey(T object) {
    return Cache.metaNamespaceKeyFunc(object);
  }

  @Override
  public T put(String key, T object) {
    if (object.getMetadata() != null) {
      object.getMetadata().setManagedFields(null);
    }
    type = object.getClass();
    return unpack(items.put(key, pack(object)));
  }

  @Override
  public T remove(String key) {
    return unpack(items.remove(key));
  }

  @Override
  public Stream<String> keySet() {
    return items.keySet().stream();
  }

  @Override
  public Stream<T> values() {
    return items.values().stream().map(this::unpack);
  }

  @Override
  public int size() {
    return items.size();
  }

  @Override
  public T get(String key) {
    return unpack(items.get(key));
  }

  private static byte[] pack(HasMetadata object) {
    var bytes = new ByteArrayOutputStream(1024);
    var deflater = new Deflater(Deflater.BEST_SPEED);
    try (var out = new DeflaterOutputStream(bytes, deflater)) {
      JSON.writeValue(out, object);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      deflater.end();
    }
    return bytes.toByteArray();
  }

  @SuppressWarnings("unchecked")
  private T unpack(byte[] packed) {
    if (packed == null) {
      return null;
    }
    try (var in = new InflaterInputStream(new ByteArrayInputStream(packed))) {
      return (T) JSON.readValue(in, type);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
