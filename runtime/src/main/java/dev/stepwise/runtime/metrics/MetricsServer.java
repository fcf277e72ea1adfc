package dev.stepwise.runtime.metrics;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Serves {@code GET /metrics} (a {@link PrometheusRegistry}) on {@code 0.0.0.0:<port>}, on one
 * daemon thread of its own: a scrape never runs on, or waits for, the training thread.
 */
public final class MetricsServer implements AutoCloseable {

  private final HttpServer server;
  private final ExecutorService executor;

  private MetricsServer(HttpServer server, ExecutorService executor) {
    this.server = server;
    this.executor = executor;
  }

  /**
   * Starts serving {@code registry}; {@code flag} names the option that gave {@code port} (for the
   * error when the port is taken).
   */
  public static MetricsServer start(int port, PrometheusRegistry registry, String flag) {
    HttpServer server;
    try {
      server = HttpServer.create(new InetSocketAddress("0.0.0.0", port), 16);
    } catch (IOException e) {
      throw new UncheckedIOException(
          flag + " " + port + ": cannot serve /metrics on 0.0.0.0:" + port + ": " + e.getMessage(),
          e);
    }
    var executor =
        Executors.newSingleThreadExecutor(
            r -> {
              var thread = new Thread(r, "metrics-http");
              thread.setDaemon(true);
              return thread;
            });
    server.setExecutor(executor);
    server.createContext("/metrics", exchange -> respond(exchange, registry));
    // The server's dispatcher thread inherits daemon-ness from the thread that starts it: started
    // from a daemon thread it never keeps the JVM alive after training ends or fails.
    var starter = new Thread(server::start, "metrics-http-start");
    starter.setDaemon(true);
    starter.start();
    try {
      starter.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return new MetricsServer(server, executor);
  }

  private static void respond(HttpExchange exchange, PrometheusRegistry registry)
      throws IOException {
    try (exchange) {
      if (!"GET".equals(exchange.getRequestMethod())
          && !"HEAD".equals(exchange.getRequestMethod())) {
        exchange.getResponseHeaders().set("Allow", "GET, HEAD");
        exchange.sendResponseHeaders(405, -1);
        return;
      }
      if (!"/metrics".equals(exchange.getRequestURI().getPath())) {
        exchange.sendResponseHeaders(404, -1);
        return;
      }
      var body = registry.render().getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("Content-Type", PrometheusRegistry.CONTENT_TYPE);
      if ("HEAD".equals(exchange.getRequestMethod())) {
        exchange.sendResponseHeaders(200, -1);
        return;
      }
      exchange.sendResponseHeaders(200, body.length);
      exchange.getResponseBody().write(body);
    }
  }

  /** The port bound (the one asked for, or the one chosen for port 0). */
  public int port() {
    return server.getAddress().getPort();
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}
