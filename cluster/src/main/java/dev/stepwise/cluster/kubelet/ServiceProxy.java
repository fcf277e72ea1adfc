package dev.stepwise.cluster.kubelet;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.jboss.logging.Logger;

/**
 * kube-proxy's part for one Service port, in user space: listens on a stable local port and
 * forwards each connection to the local port of a pod the Service selects at that moment, so a
 * client keeps its address when the pod behind it is replaced.
 */
final class ServiceProxy implements AutoCloseable {

  private static final Logger LOG = Logger.getLogger(ServiceProxy.class);
  private static final int CONNECT_TIMEOUT_MS = 2000;

  private final String name;
  private final ServerSocket server;
  private final Supplier<Optional<Integer>> endpoint;
  private final Thread acceptor;

  /**
   * @param name for logs: namespace/service:port
   * @param port the local port standing in for the Service port
   * @param endpoint the local port of a pod serving it now, or empty when none is ready
   */
  ServiceProxy(String name, int port, Supplier<Optional<Integer>> endpoint) throws IOException {
    this.name = name;
    this.endpoint = endpoint;
    this.server = new ServerSocket();
    server.setReuseAddress(true);
    server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
    this.acceptor = new Thread(this::accept, "service-proxy-" + name);
    acceptor.setDaemon(true);
    acceptor.start();
  }

  private void accept() {
    while (!server.isClosed()) {
      try {
        var client = server.accept();
        var target = endpoint.get();
        if (target.isEmpty()) {
          LOG.debugf("service %s has no ready endpoint: connection refused", name);
          client.close();
          continue;
        }
        var upstream = new Socket();
        try {
          upstream.connect(
              new InetSocketAddress(InetAddress.getLoopbackAddress(), target.get()),
              CONNECT_TIMEOUT_MS);
        } catch (IOException e) {
          client.close();
          upstream.close();
          continue;
        }
        var open = new AtomicInteger(2);
        pipe(client, upstream, open);
        pipe(upstream, client, open);
      } catch (IOException e) {
        if (!server.isClosed()) {
          LOG.debugf("service %s: %s", name, e.getMessage());
        }
      }
    }
  }

  /** Copies from → to until EOF, then half-closes; the last direction to end closes both. */
  private void pipe(Socket from, Socket to, AtomicInteger open) {
    var thread =
        new Thread(
            () -> {
              try {
                from.getInputStream().transferTo(to.getOutputStream());
                to.shutdownOutput();
                if (open.decrementAndGet() == 0) {
                  closeQuietly(from);
                  closeQuietly(to);
                }
              } catch (IOException reset) {
                closeQuietly(from);
                closeQuietly(to);
              }
            },
            "service-proxy-" + name + "-pipe");
    thread.setDaemon(true);
    thread.start();
  }

  private static void closeQuietly(Socket socket) {
    try {
      socket.close();
    } catch (IOException ignored) {
      // nothing left to do
    }
  }

  @Override
  public void close() {
    try {
      server.close();
    } catch (IOException ignored) {
      // closing
    }
  }
}
