package dev.stepwise.cluster.kubelet;

import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.NodeConditionBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Map;

/**
 * The node's side of the kubelet: registers the Node with its capacity and a Ready condition, and
 * renews its Lease in {@code kube-node-lease} (the heartbeat the node lifecycle controller reads).
 */
final class NodeAgent {

  private static final String LEASE_NAMESPACE = "kube-node-lease";
  private static final int LEASE_SECONDS = 40;

  private final KubernetesClient client;
  private final String name;

  NodeAgent(KubernetesClient client, String name) {
    this.client = client;
    this.name = name;
  }

  /** Creates the Node unless it exists, then reports it Ready with this machine's capacity. */
  void register() {
    if (client.nodes().withName(name).get() == null) {
      var node =
          new NodeBuilder()
              .withNewMetadata()
              .withName(name)
              .withLabels(
                  Map.of(
                      "kubernetes.io/hostname", name,
                      "kubernetes.io/os", "linux",
                      "kubernetes.io/arch", "amd64"))
              .endMetadata()
              .build();
      try {
        client.nodes().resource(node).create();
      } catch (KubernetesClientException e) {
        if (e.getCode() != 409) {
          throw e;
        }
      }
    }
    var now = now();
    var cpus = String.valueOf(Runtime.getRuntime().availableProcessors());
    var memory = memoryBytes();
    var capacity =
        Map.of(
            "cpu", new Quantity(cpus),
            "memory", new Quantity(memory),
            "pods", new Quantity("110"),
            "ephemeral-storage", new Quantity("100Gi"));
    var status =
        new NodeBuilder()
            .withNewMetadata()
            .withName(name)
            .endMetadata()
            .withNewStatus()
            .withCapacity(capacity)
            .withAllocatable(capacity)
            .withConditions(
                new NodeConditionBuilder()
                    .withType("Ready")
                    .withStatus("True")
                    .withReason("KubeletReady")
                    .withMessage("local kubelet is posting ready status")
                    .withLastHeartbeatTime(now)
                    .withLastTransitionTime(now)
                    .build())
            .addNewAddress()
            .withType("InternalIP")
            .withAddress(LocalNetwork.LOOPBACK)
            .endAddress()
            .addNewAddress()
            .withType("Hostname")
            .withAddress(name)
            .endAddress()
            .withNewNodeInfo()
            .withKubeletVersion("stepwise-local")
            .withOperatingSystem("linux")
            .withArchitecture("amd64")
            .withContainerRuntimeVersion("local-process://1")
            .withOsImage(System.getProperty("os.name") + " " + System.getProperty("os.version"))
            .withKernelVersion(System.getProperty("os.version"))
            .withKubeProxyVersion("")
            .withMachineID("")
            .withSystemUUID("")
            .withBootID("")
            .endNodeInfo()
            .endStatus()
            .build();
    client.nodes().resource(status).patchStatus();
  }

  /** Creates or renews the node's Lease. */
  void renewLease() {
    var lease =
        new LeaseBuilder()
            .withNewMetadata()
            .withName(name)
            .withNamespace(LEASE_NAMESPACE)
            .endMetadata()
            .withNewSpec()
            .withHolderIdentity(name)
            .withLeaseDurationSeconds(LEASE_SECONDS)
            .withRenewTime(ZonedDateTime.now(ZoneOffset.UTC))
            .endSpec()
            .build();
    var leases = client.leases().inNamespace(LEASE_NAMESPACE);
    if (leases.withName(name).get() == null) {
      leases.resource(lease).create();
    } else {
      leases.resource(lease).patch();
    }
  }

  private static String now() {
    return DateTimeFormatter.ISO_INSTANT.format(ZonedDateTime.now(ZoneOffset.UTC).withNano(0));
  }

  private static String memoryBytes() {
    var bean = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
    if (bean instanceof com.sun.management.OperatingSystemMXBean os) {
      return String.valueOf(os.getTotalMemorySize());
    }
    return "8Gi";
  }
}
