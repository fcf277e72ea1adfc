package dev.stepwise.operator.e2e;

import io.fabric8.kubernetes.api.model.KeyToPath;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The kubelet's volume part: a PersistentVolumeClaim is one directory per claim, shared by every
 * pod that mounts it; ConfigMap and Secret volumes are written from the objects' data; anything
 * else (emptyDir) is an empty directory of the pod.
 */
final class LocalVolumes implements ContainerLaunch.KeyRefs {

  /** A volume whose source object does not exist yet: the pod waits, like ContainerCreating. */
  static final class NotReady extends RuntimeException {
    NotReady(String message) {
      super(message);
    }
  }

  private final KubernetesClient client;
  private final String namespace;
  private final Path claims;

  LocalVolumes(KubernetesClient client, String namespace, Path claims) {
    this.client = client;
    this.namespace = namespace;
    this.claims = claims;
  }

  /** The directory standing in for PersistentVolumeClaim {@code claim}. */
  Path claim(String claim) {
    try {
      return Files.createDirectories(claims.resolve(claim));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The local directory of one volume of {@code pod}, filled as the kubelet would fill it. */
  Path prepare(LocalPod pod, Volume volume) {
    try {
      if (volume.getPersistentVolumeClaim() != null) {
        var claim = volume.getPersistentVolumeClaim().getClaimName();
        if (client.persistentVolumeClaims().inNamespace(namespace).withName(claim).get() == null) {
          throw new NotReady("PersistentVolumeClaim " + claim + " not found");
        }
        return claim(claim);
      }
      var dir = Files.createDirectories(pod.workDir.resolve("volumes").resolve(volume.getName()));
      if (volume.getConfigMap() != null) {
        var source = volume.getConfigMap();
        var data = configMap(source.getName());
        if (data.isEmpty() && !Boolean.TRUE.equals(source.getOptional())) {
          throw new NotReady("ConfigMap " + source.getName() + " not found");
        }
        writeFiles(dir, data.orElse(Map.of()), source.getItems());
      } else if (volume.getSecret() != null) {
        var source = volume.getSecret();
        var data = secret(source.getSecretName());
        if (data.isEmpty() && !Boolean.TRUE.equals(source.getOptional())) {
          throw new NotReady("Secret " + source.getSecretName() + " not found");
        }
        writeFiles(dir, data.orElse(Map.of()), source.getItems());
      }
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public Optional<Map<String, String>> configMap(String name) {
    var configMap = client.configMaps().inNamespace(namespace).withName(name).get();
    return Optional.ofNullable(configMap)
        .map(c -> c.getData() == null ? Map.<String, String>of() : c.getData());
  }

  @Override
  public Optional<Map<String, String>> secret(String name) {
    var secret = client.secrets().inNamespace(namespace).withName(name).get();
    if (secret == null) {
      return Optional.empty();
    }
    var data = new LinkedHashMap<String, String>();
    if (secret.getData() != null) {
      secret
          .getData()
          .forEach(
              (k, v) ->
                  data.put(k, new String(Base64.getDecoder().decode(v), StandardCharsets.UTF_8)));
    }
    if (secret.getStringData() != null) {
      data.putAll(secret.getStringData());
    }
    return Optional.of(data);
  }

  /** Every key as a file, or only the listed items under their paths. */
  private static void writeFiles(Path dir, Map<String, String> data, List<KeyToPath> items)
      throws IOException {
    var files = new LinkedHashMap<String, String>();
    if (items == null || items.isEmpty()) {
      files.putAll(data);
    } else {
      items.forEach(i -> files.put(i.getPath(), data.getOrDefault(i.getKey(), "")));
    }
    for (var file : files.entrySet()) {
      var target = dir.resolve(file.getKey());
      Files.createDirectories(target.getParent());
      Files.writeString(target, file.getValue(), StandardCharsets.UTF_8);
    }
  }
}
