package dev.stepwise.cluster.kubelet;

import dev.stepwise.cluster.FileTrees;
import io.fabric8.kubernetes.api.model.PersistentVolume;
import io.fabric8.kubernetes.api.model.PersistentVolumeBuilder;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.storage.StorageClassBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.jboss.logging.Logger;

/**
 * A dynamic provisioner of local directories: for each claim of its StorageClass it creates a
 * {@code hostPath} PersistentVolume under one root directory, pre-bound to the claim (the
 * controller manager's PV controller completes the binding); a released volume it provisioned is
 * deleted with its directory, as the {@code Delete} reclaim policy says. Reclaims run beside the
 * kubelet's loop, several at once: a deleted namespace of a thousand claims (ScaleBenchmarkE2E)
 * took the loop six minutes at three API calls per volume, and no pod was looked after meanwhile.
 */
final class VolumeProvisioner implements AutoCloseable {

  private static final Logger LOG = Logger.getLogger(VolumeProvisioner.class);

  /** The StorageClass it serves; made the cluster's default. */
  static final String STORAGE_CLASS = "stepwise-local";

  static final String PROVISIONER = "stepwise.dev/local-path";
  private static final String PROVISIONED_BY = "pv.kubernetes.io/provisioned-by";
  private static final String RECLAIM_FINALIZER =
      "external-provisioner.volume.kubernetes.io/finalizer";
  private static final String DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class";

  /** Volumes reclaimed at once. */
  private static final int RECLAIMERS = 8;

  private final KubernetesClient client;
  private final Path root;
  private final ExecutorService reclaimers =
      Executors.newFixedThreadPool(
          RECLAIMERS,
          task -> {
            var thread = new Thread(task, "local-volume-reclaim");
            thread.setDaemon(true);
            return thread;
          });

  /** Names of the volumes being reclaimed, so that a later pass does not start them again. */
  private final Set<String> reclaiming = ConcurrentHashMap.newKeySet();

  VolumeProvisioner(KubernetesClient client, Path root) {
    this.client = client;
    this.root = root;
  }

  @Override
  public void close() {
    reclaimers.shutdownNow();
  }

  /** Creates the default StorageClass unless it exists. */
  void ensureStorageClass() {
    if (client.storage().v1().storageClasses().withName(STORAGE_CLASS).get() != null) {
      return;
    }
    var storageClass =
        new StorageClassBuilder()
            .withNewMetadata()
            .withName(STORAGE_CLASS)
            .withAnnotations(Map.of(DEFAULT_CLASS, "true"))
            .endMetadata()
            .withProvisioner(PROVISIONER)
            .withReclaimPolicy("Delete")
            .withVolumeBindingMode("Immediate")
            .build();
    try {
      client.storage().v1().storageClasses().resource(storageClass).create();
    } catch (KubernetesClientException e) {
      if (e.getCode() != 409) {
        throw e;
      }
    }
  }

  /** One pass over the claims and volumes the informers hold. */
  void reconcile(Collection<PersistentVolumeClaim> claims, Collection<PersistentVolume> volumes) {
    var existing =
        volumes.stream()
            .map(v -> v.getMetadata().getName())
            .collect(java.util.stream.Collectors.toSet());
    for (var claim : claims) {
      if (wantsVolume(claim) && !existing.contains(volumeName(claim))) {
        provision(claim);
      }
    }
    for (var volume : volumes) {
      var name = volume.getMetadata().getName();
      if (released(volume) && reclaiming.add(name)) {
        reclaimers.execute(
            () -> {
              try {
                reclaim(volume);
              } catch (KubernetesClientException e) {
                LOG.debugf(
                    "reclaiming %s failed, retried on a later pass: %s", name, e.getMessage());
              } catch (RuntimeException e) {
                LOG.warnf(e, "reclaiming %s failed, retried on a later pass", name);
              } finally {
                reclaiming.remove(name);
              }
            });
      }
    }
  }

  private static boolean wantsVolume(PersistentVolumeClaim claim) {
    var spec = claim.getSpec();
    return claim.getMetadata().getDeletionTimestamp() == null
        && STORAGE_CLASS.equals(spec.getStorageClassName())
        && (spec.getVolumeName() == null || spec.getVolumeName().isEmpty());
  }

  private static String volumeName(PersistentVolumeClaim claim) {
    return "pvc-" + claim.getMetadata().getUid();
  }

  private void provision(PersistentVolumeClaim claim) {
    var meta = claim.getMetadata();
    var dir = root.resolve(meta.getNamespace()).resolve(meta.getName() + "-" + meta.getUid());
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot make the volume directory " + dir, e);
    }
    var requests = claim.getSpec().getResources().getRequests();
    var size = requests == null ? null : requests.get("storage");
    var volume =
        new PersistentVolumeBuilder()
            .withNewMetadata()
            .withName(volumeName(claim))
            .withAnnotations(Map.of(PROVISIONED_BY, PROVISIONER))
            .endMetadata()
            .withNewSpec()
            .withCapacity(Map.of("storage", size == null ? new Quantity("1Gi") : size))
            .withAccessModes(claim.getSpec().getAccessModes())
            .withStorageClassName(STORAGE_CLASS)
            .withPersistentVolumeReclaimPolicy("Delete")
            .withNewHostPath()
            .withPath(dir.toString())
            .withType("Directory")
            .endHostPath()
            .withNewClaimRef()
            .withApiVersion("v1")
            .withKind("PersistentVolumeClaim")
            .withNamespace(meta.getNamespace())
            .withName(meta.getName())
            .withUid(meta.getUid())
            .endClaimRef()
            .endSpec()
            .build();
    try {
      client.persistentVolumes().resource(volume).create();
      LOG.infof(
          "provisioned %s for claim %s/%s at %s",
          volume.getMetadata().getName(), meta.getNamespace(), meta.getName(), dir);
    } catch (KubernetesClientException e) {
      if (e.getCode() != 409) {
        throw e;
      }
    }
  }

  private static boolean released(PersistentVolume volume) {
    var annotations = volume.getMetadata().getAnnotations();
    return annotations != null
        && PROVISIONER.equals(annotations.get(PROVISIONED_BY))
        && volume.getStatus() != null
        && "Released".equals(volume.getStatus().getPhase())
        && "Delete".equals(volume.getSpec().getPersistentVolumeReclaimPolicy());
  }

  private void reclaim(PersistentVolume volume) {
    var dir = Path.of(volume.getSpec().getHostPath().getPath());
    if (!dir.startsWith(root)) {
      LOG.warnf("not deleting %s of %s: outside %s", dir, volume.getMetadata().getName(), root);
      return;
    }
    try {
      FileTrees.delete(dir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot delete " + dir, e);
    }
    var name = volume.getMetadata().getName();
    // The PV controller marks volumes of external provisioners with a finalizer that the
    // provisioner removes once the storage is gone (HonorPVReclaimPolicy).
    if (volume.getMetadata().getFinalizers().contains(RECLAIM_FINALIZER)) {
      client
          .persistentVolumes()
          .withName(name)
          .edit(
              pv -> {
                pv.getMetadata().getFinalizers().remove(RECLAIM_FINALIZER);
                return pv;
              });
    }
    if (volume.getMetadata().getDeletionTimestamp() == null) {
      client.persistentVolumes().withName(name).delete();
      LOG.infof("reclaimed %s: deleted %s", name, dir);
    }
  }
}
