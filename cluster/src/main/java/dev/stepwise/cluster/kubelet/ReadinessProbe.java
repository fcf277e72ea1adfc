package dev.stepwise.cluster.kubelet;

import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.IntOrString;
import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.time.Duration;

/**
 * A container's readiness probe, run against its local port: httpGet and tcpSocket as the kubelet
 * runs them; exec probes and no probe at all count as ready while the process runs (there is no
 * container to exec into).
 */
final class ReadinessProbe {

  private static final Duration TIMEOUT = Duration.ofMillis(300);

  private ReadinessProbe() {}

  static boolean passes(LocalPod pod, LocalNetwork network) {
    var probe = pod.container().getReadinessProbe();
    if (probe == null || (probe.getHttpGet() == null && probe.getTcpSocket() == null)) {
      return true;
    }
    var timeout = (int) TIMEOUT.toMillis();
    try {
      if (probe.getHttpGet() != null) {
        var get = probe.getHttpGet();
        var port = containerPort(pod, get.getPort(), 80);
        var path = get.getPath() == null ? "/" : get.getPath();
        var url = URI.create("http://127.0.0.1:" + network.localPort(pod.slot, port) + path);
        var connection = (HttpURLConnection) url.toURL().openConnection();
        connection.setConnectTimeout(timeout);
        connection.setReadTimeout(timeout);
        try {
          var code = connection.getResponseCode();
          return code >= 200 && code < 400;
        } finally {
          connection.disconnect();
        }
      }
      var port = containerPort(pod, probe.getTcpSocket().getPort(), 0);
      try (var socket = new Socket()) {
        socket.connect(
            new InetSocketAddress(LocalNetwork.LOOPBACK, network.localPort(pod.slot, port)),
            timeout);
        return true;
      }
    } catch (IOException e) {
      return false;
    }
  }

  /** A probe's port: a number, or the name of one of the container's ports. */
  static int containerPort(LocalPod pod, IntOrString port, int fallback) {
    if (port == null) {
      return fallback;
    }
    if (port.getIntVal() != null) {
      return port.getIntVal();
    }
    var ports = pod.container().getPorts();
    return ports == null
        ? fallback
        : ports.stream()
            .filter(p -> port.getStrVal().equals(p.getName()))
            .map(ContainerPort::getContainerPort)
            .findFirst()
            .orElse(fallback);
  }
}
