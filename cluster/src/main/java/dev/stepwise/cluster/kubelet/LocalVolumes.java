package dev.stepwise.cluster.kubelet;

import io.fabric8.kubernetes.api.model.KeyToPath;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeProjection;
import io.fabric8.kubernetes.api.model.authentication.TokenRequestBuilder;
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
 * The kubelet's volume part: a PersistentVolumeClaim is the directory of the PersistentVolume it is
 * bound to (a {@code hostPath} made by {@link VolumeProvisioner}); ConfigMap, Secret and projected
 * volumes (the ServiceAccount token from the TokenRequest API, the cluster CA, the namespace) are
 * written from the API; an emptyDir is an empty directory of the pod.
 */
final class LocalVolumes implements ContainerLaunch.KeyRefs {

  /** A volume whose source is not there yet: the pod waits, like ContainerCreating. */
  static final class NotReady extends RuntimeException {
    NotReady(String message) {
      super(message);
    }
  }

  /** Lifetime asked of ServiceAccount tokens (the API server may extend it, as for a kubelet). */
  private static final long TOKEN_SECONDS = 3607;

  private final KubernetesClient client;
  private final String namespace;

  LocalVolumes(KubernetesClient client, String namespace) {
    this.client = client;
    this.namespace = namespace;
  }

  /** The local directory of one volume of {@code pod}, filled as the kubelet would fill it. */
  Path prepare(LocalPod pod, Volume volume) {
    try {
      if (volume.getPersistentVolumeClaim() != null) {
        return claimDirectory(volume.getPersistentVolumeClaim().getClaimName());
      }
      var dir = Files.createDirectories(pod.workDir.resolve("volumes").resolve(volume.getName()));
      if (volume.getConfigMap() != null) {
        var source = volume.getConfigMap();
        var data = configMap(source.getName());
        if (data.isEmpty() && !Boolean.TRUE.equals(source.getOptional())) {
          throw new NotReady("configmap \"" + source.getName() + "\" not found");
        }
        writeFiles(dir, data.orElse(Map.of()), source.getItems());
      } else if (volume.getSecret() != null) {
        var source = volume.getSecret();
        var data = secret(source.getSecretName());
        if (data.isEmpty() && !Boolean.TRUE.equals(source.getOptional())) {
          throw new NotReady("secret \"" + source.getSecretName() + "\" not found");
        }
        writeFiles(dir, data.orElse(Map.of()), source.getItems());
      } else if (volume.getProjected() != null) {
        for (var source : volume.getProjected().getSources()) {
          project(pod, dir, source);
        }
      }
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The directory of the PersistentVolume that claim {@code name} is bound to. */
  Path claimDirectory(String name) {
    var claim = client.persistentVolumeClaims().inNamespace(namespace).withName(name).get();
    if (claim == null) {
      throw new NotReady("persistentvolumeclaim \"" + name + "\" not found");
    }
    var volumeName = claim.getSpec().getVolumeName();
    if (volumeName == null || volumeName.isEmpty()) {
      throw new NotReady("persistentvolumeclaim \"" + name + "\" is not bound yet");
    }
    var volume = client.persistentVolumes().withName(volumeName).get();
    if (volume == null || volume.getSpec().getHostPath() == null) {
      throw new NotReady(
          "persistentvolume \"" + volumeName + "\" is missing or not a hostPath volume");
    }
    return Path.of(volume.getSpec().getHostPath().getPath());
  }

  private void project(LocalPod pod, Path dir, VolumeProjection source) throws IOException {
    if (source.getServiceAccountToken() != null) {
      var token = source.getServiceAccountToken();
      var request =
          new TokenRequestBuilder()
              .withNewSpec()
              .withAudiences(token.getAudience() == null ? List.of() : List.of(token.getAudience()))
              .withExpirationSeconds(
                  token.getExpirationSeconds() == null
                      ? TOKEN_SECONDS
                      : Math.max(TOKEN_SECONDS, token.getExpirationSeconds()))
              .withNewBoundObjectRef()
              .withApiVersion("v1")
              .withKind("Pod")
              .withName(pod.name)
              .withUid(pod.uid)
              .endBoundObjectRef()
              .endSpec()
              .build();
      var account = pod.spec.getSpec().getServiceAccountName();
      var issued =
          client
              .serviceAccounts()
              .inNamespace(namespace)
              .withName(account == null ? "default" : account)
              .tokenRequest(request);
      writeFiles(dir, Map.of(token.getPath(), issued.getStatus().getToken()), null);
    } else if (source.getConfigMap() != null) {
      var ref = source.getConfigMap();
      var data = configMap(ref.getName());
      if (data.isEmpty() && !Boolean.TRUE.equals(ref.getOptional())) {
        throw new NotReady("configmap \"" + ref.getName() + "\" not found");
      }
      writeFiles(dir, data.orElse(Map.of()), ref.getItems());
    } else if (source.getSecret() != null) {
      var ref = source.getSecret();
      var data = secret(ref.getName());
      if (data.isEmpty() && !Boolean.TRUE.equals(ref.getOptional())) {
        throw new NotReady("secret \"" + ref.getName() + "\" not found");
      }
      writeFiles(dir, data.orElse(Map.of()), ref.getItems());
    } else if (source.getDownwardAPI() != null) {
      var files = new LinkedHashMap<String, String>();
      for (var item : source.getDownwardAPI().getItems()) {
        if (item.getFieldRef() != null) {
          files.put(
              item.getPath(),
              ContainerLaunch.field(pod.identity(), item.getFieldRef().getFieldPath()));
        }
      }
      writeFiles(dir, files, null);
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
