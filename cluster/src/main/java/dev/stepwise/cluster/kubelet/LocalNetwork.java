package dev.stepwise.cluster.kubelet;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Stands in for cluster DNS and kube-proxy on one machine: names of the runner's namespace ({@code
 * <svc>.<ns>.svc[.cluster.local]}, {@code <pod>.<svc>.<ns>.svc[.cluster.local]}) become {@code
 * 127.0.0.1}, and each (pod slot, container port) gets its own stable local port, so that two pods
 * that both listen on 8000 in the cluster do not collide here and a restarted pod keeps its port.
 */
final class LocalNetwork {

  static final String LOOPBACK = "127.0.0.1";

  private static final String LABEL = "[a-z0-9](?:[-a-z0-9]*[a-z0-9])?";
  private static final Pattern CLUSTER_NAME =
      Pattern.compile(
          "(?<![-\\w.])(?<host>"
              + LABEL
              + "(?:\\."
              + LABEL
              + ")?)\\.(?<ns>"
              + LABEL
              + ")\\.svc(?:\\.cluster\\.local)?(?::(?<port>\\d{1,5}))?(?![-\\w])");

  /** Where a Service's port leads: the pod slot that serves it and the container port there. */
  record Endpoint(String slot, int containerPort) {}

  /** How a Service name and port resolve to a pod slot; empty when no workload serves it. */
  interface Services {
    Optional<Endpoint> resolve(String service, int port);
  }

  private record PortKey(String slot, int containerPort) {}

  private final String namespace;
  private final Services services;
  private final IntSupplier freePorts;
  private final Map<PortKey, Integer> ports = new ConcurrentHashMap<>();

  LocalNetwork(String namespace, Services services) {
    this(namespace, services, LocalNetwork::freePort);
  }

  LocalNetwork(String namespace, Services services, IntSupplier freePorts) {
    this.namespace = namespace;
    this.services = services;
    this.freePorts = freePorts;
  }

  /** The local port standing in for {@code containerPort} of the pod in {@code slot}; stable. */
  int localPort(String slot, int containerPort) {
    return ports.computeIfAbsent(new PortKey(slot, containerPort), k -> freePorts.getAsInt());
  }

  /**
   * {@code value} with every in-cluster name of this namespace replaced by 127.0.0.1 and its port
   * (when given and known) by the local port. Names of other namespaces stay as they are.
   */
  String rewrite(String value) {
    var matcher = CLUSTER_NAME.matcher(value);
    var out = new StringBuilder();
    while (matcher.find()) {
      matcher.appendReplacement(out, Matcher.quoteReplacement(replacement(matcher)));
    }
    matcher.appendTail(out);
    return out.toString();
  }

  /** The host part of an in-cluster name of this namespace, or empty when it is not one. */
  Optional<String> podOf(String address) {
    var matcher = CLUSTER_NAME.matcher(address);
    if (!matcher.matches() || !matcher.group("ns").equals(namespace)) {
      return Optional.empty();
    }
    var host = matcher.group("host");
    var dot = host.indexOf('.');
    return dot < 0 ? Optional.empty() : Optional.of(host.substring(0, dot));
  }

  private String replacement(Matcher matcher) {
    if (!matcher.group("ns").equals(namespace)) {
      return matcher.group();
    }
    var portText = matcher.group("port");
    if (portText == null) {
      return LOOPBACK;
    }
    var port = Integer.parseInt(portText);
    var host = matcher.group("host");
    var dot = host.indexOf('.');
    if (dot >= 0) {
      // <pod>.<headless svc>: a StatefulSet pod, whose slot is its name.
      return LOOPBACK + ":" + localPort(host.substring(0, dot), port);
    }
    return services
        .resolve(host, port)
        .map(e -> LOOPBACK + ":" + localPort(e.slot(), e.containerPort()))
        .orElse(LOOPBACK + ":" + port);
  }

  private static int freePort() {
    try (var socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      socket.setReuseAddress(true);
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("no free local port", e);
    }
  }
}
