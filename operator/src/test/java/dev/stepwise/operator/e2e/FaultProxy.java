package dev.stepwise.operator.e2e;

import dev.stepwise.cluster.controlplane.ControlPlane;
import io.fabric8.kubernetes.client.internal.CertUtils;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;

/**
 * An HTTPS proxy between one client (the operator) and the real API server that injects API errors,
 * each with a seeded probability: 500 and 429 with {@code Retry-After} on any request, 409 Conflict
 * on writes (answered by the proxy, so the write never happens), watch connections dropped
 * mid-stream, and responses delayed. It serves with the API server's own certificate and key (the
 * {@code ca.crt} pods trust), speaks HTTP/1.1 only, passes the client's {@code Authorization} on
 * (the API server still authenticates the operator), and proxies WebSocket watches as a byte pipe
 * after the 101. Every request is recorded with the status the client got.
 */
final class FaultProxy implements Closeable {

  /** What the proxy did to a request. */
  enum Fault {
    NONE,
    SERVER_ERROR,
    TOO_MANY_REQUESTS,
    CONFLICT,
    DROPPED_WATCH,
    SLOW
  }

  /**
   * Probabilities of each fault: {@code serverError} and {@code tooManyRequests} per request,
   * {@code conflict} per write, {@code droppedWatch} per watch (closed {@code 0.5 s} to {@code
   * maxWatchLife} after it opens), {@code slow} per forwarded request (delayed up to {@code
   * maxDelay}); a 429 says {@code Retry-After: retryAfterSeconds}.
   */
  record Odds(
      double serverError,
      double tooManyRequests,
      double conflict,
      double droppedWatch,
      double slow,
      Duration maxDelay,
      Duration maxWatchLife,
      int retryAfterSeconds) {

    /** The same with every probability multiplied by {@code factor} (at most 1). */
    Odds times(double factor) {
      return new Odds(
          Math.min(1, serverError * factor),
          Math.min(1, tooManyRequests * factor),
          Math.min(1, conflict * factor),
          Math.min(1, droppedWatch * factor),
          Math.min(1, slow * factor),
          maxDelay,
          maxWatchLife,
          retryAfterSeconds);
    }
  }

  /**
   * One request as the client saw it: when it arrived, {@code method} and {@code target} (path and
   * query), a hash of its {@code body}, the status answered (101 for a WebSocket, 502 when the API
   * server could not be reached, -1 when it failed mid-answer), and the fault.
   */
  record Exchange(Instant at, String method, String target, int body, int status, Fault fault) {

    /** The same request again: method, target and body. */
    boolean sameRequest(Exchange other) {
      return method.equals(other.method) && target.equals(other.target) && body == other.body;
    }

    boolean isWrite() {
      return WRITES.contains(method);
    }

    boolean isWatch() {
      return FaultProxy.isWatch(target);
    }
  }

  private static final Set<String> WRITES = Set.of("POST", "PUT", "PATCH", "DELETE");

  /** The API server's address as its certificate names it. */
  private static final String LOOPBACK = "127.0.0.1";

  private final ControlPlane upstream;
  private final SSLContext upstreamTls;
  private final SSLServerSocket server;
  private final Odds odds;
  private final Random random;
  private final ExecutorService connections = Executors.newCachedThreadPool(daemon("fault-proxy"));
  private final ScheduledExecutorService drops =
      Executors.newSingleThreadScheduledExecutor(daemon("fault-proxy-drops"));
  private final List<Exchange> exchanges = new ArrayList<>();
  private volatile boolean faulty = true;

  private FaultProxy(ControlPlane upstream, Odds odds, long seed) throws IOException {
    this.upstream = upstream;
    this.odds = odds;
    this.random = new Random(seed);
    this.upstreamTls = ControlPlane.trusting(upstream.caFile());
    this.server = listen(upstream);
    connections.execute(this::accept);
  }

  /** A proxy in front of {@code upstream} on a free loopback port, faults on. */
  static FaultProxy start(ControlPlane upstream, Odds odds, long seed) throws IOException {
    return new FaultProxy(upstream, odds, seed);
  }

  /** The URL clients use instead of the API server's. */
  String url() {
    return "https://127.0.0.1:" + server.getLocalPort();
  }

  /** Turns the faults on or off; requests are forwarded and recorded either way. */
  void faulty(boolean on) {
    faulty = on;
  }

  /** Every request so far, in order of arrival. */
  synchronized List<Exchange> exchanges() {
    return exchanges.stream().sorted(Comparator.comparing(Exchange::at)).toList();
  }

  /** The faults injected so far, by kind. */
  Map<Fault, Long> faults() {
    var counts = new EnumMap<Fault, Long>(Fault.class);
    for (var e : exchanges()) {
      if (e.fault() != Fault.NONE) {
        counts.merge(e.fault(), 1L, Long::sum);
      }
    }
    return counts;
  }

  @Override
  public void close() throws IOException {
    server.close();
    connections.shutdownNow();
    drops.shutdownNow();
  }

  private SSLServerSocket listen(ControlPlane api) throws IOException {
    try (var cert = Files.newInputStream(api.caFile());
        var key = Files.newInputStream(api.caFile().resolveSibling("apiserver.key"))) {
      var password = "fault-proxy".toCharArray();
      var store = CertUtils.createKeyStore(cert, key, "RSA", password, null, password);
      var keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      keys.init(store, password);
      var tls = SSLContext.getInstance("TLS");
      tls.init(keys.getKeyManagers(), null, null);
      var socket =
          (SSLServerSocket)
              tls.getServerSocketFactory()
                  .createServerSocket(0, 50, InetAddress.getLoopbackAddress());
      var parameters = socket.getSSLParameters();
      parameters.setApplicationProtocols(new String[] {"http/1.1"});
      socket.setSSLParameters(parameters);
      return socket;
    } catch (java.security.GeneralSecurityException e) {
      throw new IOException("cannot serve with the API server's certificate: " + e.getMessage(), e);
    }
  }

  private void accept() {
    while (!server.isClosed()) {
      try {
        var client = server.accept();
        connections.execute(() -> serve(client));
      } catch (IOException closed) {
        return;
      }
    }
  }

  /** One client connection: its requests in turn (keep-alive) until it closes. */
  private void serve(Socket client) {
    try (client) {
      var in = new BufferedInputStream(client.getInputStream());
      var out = client.getOutputStream();
      Request request;
      while ((request = Request.read(in)) != null) {
        if (!handle(request, client, in, out)) {
          return;
        }
      }
    } catch (IOException dropped) {
      // The client went away, or a watch was dropped on purpose.
    }
  }

  /** Answers one request; false when the connection ends with it. */
  private boolean handle(Request request, Socket client, InputStream in, OutputStream out)
      throws IOException {
    var at = Instant.now();
    var fault = decide(request);
    switch (fault) {
      case SERVER_ERROR -> {
        answer(out, 500, "Internal Server Error", "InternalError", Map.of());
        record(at, request, 500, fault);
        return true;
      }
      case TOO_MANY_REQUESTS -> {
        var retryAfter = String.valueOf(odds.retryAfterSeconds());
        answer(out, 429, "Too Many Requests", "TooManyRequests", Map.of("Retry-After", retryAfter));
        record(at, request, 429, fault);
        return true;
      }
      case CONFLICT -> {
        answer(out, 409, "Conflict", "Conflict", Map.of());
        record(at, request, 409, fault);
        return true;
      }
      case SLOW -> sleep(1 + random(odds.maxDelay().toMillis()));
      default -> {}
    }
    Socket api;
    try {
      api = connect();
    } catch (IOException e) {
      answer(out, 502, "Bad Gateway", "InternalError", Map.of());
      record(at, request, 502, fault);
      return true;
    }
    try (api) {
      var apiIn = new BufferedInputStream(api.getInputStream());
      request.writeTo(api.getOutputStream(), !request.isUpgrade());
      var response = Response.read(apiIn);
      if (fault == Fault.DROPPED_WATCH) {
        var life = 500 + random(odds.maxWatchLife().toMillis() - 500);
        drops.schedule(() -> closeQuietly(client, api), life, TimeUnit.MILLISECONDS);
      }
      record(at, request, response.status, fault);
      if (response.status == 101) {
        response.writeHead(out, false);
        pipe(api, apiIn, client, in);
        return false;
      }
      response.writeHead(out, true);
      return response.copyBody(request, apiIn, out);
    } catch (IOException e) {
      if (fault != Fault.DROPPED_WATCH) {
        record(at, request, -1, fault);
      }
      throw e;
    }
  }

  private Fault decide(Request request) {
    if (!faulty) {
      return Fault.NONE;
    }
    var roll = random(1_000_000) / 1e6;
    if ((roll -= odds.serverError()) < 0) {
      return Fault.SERVER_ERROR;
    }
    if ((roll -= odds.tooManyRequests()) < 0) {
      return Fault.TOO_MANY_REQUESTS;
    }
    if (WRITES.contains(request.method) && (roll -= odds.conflict()) < 0) {
      return Fault.CONFLICT;
    }
    if (request.isWatch() && (roll -= odds.droppedWatch()) < 0) {
      return Fault.DROPPED_WATCH;
    }
    return (roll - odds.slow()) < 0 ? Fault.SLOW : Fault.NONE;
  }

  private synchronized long random(long bound) {
    return bound <= 0 ? 0 : (long) (random.nextDouble() * bound);
  }

  private synchronized void record(Instant at, Request request, int status, Fault fault) {
    exchanges.add(
        new Exchange(
            at, request.method, request.target, Arrays.hashCode(request.body), status, fault));
  }

  private Socket connect() throws IOException {
    var socket =
        (SSLSocket) upstreamTls.getSocketFactory().createSocket(LOOPBACK, upstream.apiPort());
    var parameters = socket.getSSLParameters();
    parameters.setEndpointIdentificationAlgorithm("HTTPS");
    parameters.setApplicationProtocols(new String[] {"http/1.1"});
    socket.setSSLParameters(parameters);
    socket.startHandshake();
    return socket;
  }

  /** A WebSocket after its 101: bytes both ways until either side closes. */
  private void pipe(Socket api, InputStream apiIn, Socket client, InputStream clientIn)
      throws IOException {
    var up =
        connections.submit(
            () -> {
              try {
                clientIn.transferTo(api.getOutputStream());
              } catch (IOException closed) {
                // one side closed: the other copy ends with it
              }
              closeQuietly(client, api);
            });
    try {
      apiIn.transferTo(client.getOutputStream());
    } finally {
      closeQuietly(client, api);
      up.cancel(true);
    }
  }

  private static void answer(
      OutputStream out, int code, String text, String reason, Map<String, String> headers)
      throws IOException {
    var body =
        ("{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
                + "\"message\":\"injected by the fault proxy\",\"reason\":\"%s\",\"code\":%d}")
            .formatted(reason, code)
            .getBytes(StandardCharsets.UTF_8);
    var head = new StringBuilder("HTTP/1.1 " + code + " " + text + "\r\n");
    headers.forEach((k, v) -> head.append(k).append(": ").append(v).append("\r\n"));
    head.append("Content-Type: application/json\r\n");
    head.append("Content-Length: ").append(body.length).append("\r\n\r\n");
    out.write(head.toString().getBytes(StandardCharsets.ISO_8859_1));
    out.write(body);
    out.flush();
  }

  private static boolean isWatch(String target) {
    return target.contains("watch=true") || target.contains("watch=1");
  }

  private static void closeQuietly(Closeable... closeables) {
    for (var c : closeables) {
      try {
        c.close();
      } catch (IOException ignored) {
        // closing anyway
      }
    }
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static java.util.concurrent.ThreadFactory daemon(String name) {
    return r -> {
      var thread = new Thread(r, name);
      thread.setDaemon(true);
      return thread;
    };
  }

  /** A request line, headers and (de-chunked) body. */
  private record Request(
      String method, String target, Map<String, String> headers, List<String> lines, byte[] body) {

    static Request read(InputStream in) throws IOException {
      var line = readLine(in);
      if (line == null || line.isEmpty()) {
        return null;
      }
      var parts = line.split(" ");
      var lines = new ArrayList<String>();
      var headers = readHeaders(in, lines);
      byte[] body;
      if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
        body = readChunked(in);
      } else {
        body = in.readNBytes(Integer.parseInt(headers.getOrDefault("content-length", "0")));
      }
      return new Request(parts[0], parts[1], headers, lines, body);
    }

    boolean isUpgrade() {
      return headers.containsKey("upgrade");
    }

    boolean isWatch() {
      return FaultProxy.isWatch(target);
    }

    /** Forwards it, the body with a Content-Length; {@code close}: one request per connection. */
    void writeTo(OutputStream out, boolean close) throws IOException {
      var head = new StringBuilder(method + " " + target + " HTTP/1.1\r\n");
      for (var header : lines) {
        var name = header.substring(0, header.indexOf(':')).trim().toLowerCase(Locale.ROOT);
        if (!name.equals("content-length")
            && !name.equals("transfer-encoding")
            && !(close && name.equals("connection"))) {
          head.append(header).append("\r\n");
        }
      }
      if (close) {
        head.append("Connection: close\r\n");
      }
      if (body.length > 0 || WRITES.contains(method)) {
        head.append("Content-Length: ").append(body.length).append("\r\n");
      }
      head.append("\r\n");
      out.write(head.toString().getBytes(StandardCharsets.ISO_8859_1));
      out.write(body);
      out.flush();
    }
  }

  /** A response's status line and headers; its body is relayed as it comes. */
  private record Response(int status, Map<String, String> headers, List<String> lines) {

    static Response read(InputStream in) throws IOException {
      var line = readLine(in);
      if (line == null) {
        throw new IOException("the API server closed the connection");
      }
      var lines = new ArrayList<String>();
      lines.add(line);
      var headers = readHeaders(in, lines);
      return new Response(Integer.parseInt(line.split(" ")[1]), headers, lines);
    }

    /** The head as received; {@code keepAlive}: without the upstream's Connection header. */
    void writeHead(OutputStream out, boolean keepAlive) throws IOException {
      var head = new StringBuilder();
      for (var line : lines) {
        if (!(keepAlive && line.toLowerCase(Locale.ROOT).startsWith("connection:"))) {
          head.append(line).append("\r\n");
        }
      }
      head.append("\r\n");
      out.write(head.toString().getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
    }

    /** Relays the body, chunk by chunk for a stream; false when only closing can end it. */
    boolean copyBody(Request request, InputStream in, OutputStream out) throws IOException {
      if (request.method.equals("HEAD") || status == 204 || status == 304) {
        return true;
      }
      if (headers.containsKey("content-length")) {
        out.write(in.readNBytes(Integer.parseInt(headers.get("content-length"))));
        out.flush();
        return true;
      }
      if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
        while (true) {
          var size = readLine(in);
          if (size == null) {
            throw new IOException("the stream ended inside a chunk");
          }
          out.write((size + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
          var length = Integer.parseInt(size.split(";")[0].trim(), 16);
          out.write(in.readNBytes(length + 2)); // data and its CRLF
          out.flush();
          if (length == 0) {
            return true;
          }
        }
      }
      in.transferTo(out);
      out.flush();
      return false;
    }
  }

  private static Map<String, String> readHeaders(InputStream in, List<String> lines)
      throws IOException {
    var headers = new LinkedHashMap<String, String>();
    String line;
    while ((line = readLine(in)) != null && !line.isEmpty()) {
      lines.add(line);
      var colon = line.indexOf(':');
      headers.put(
          line.substring(0, colon).trim().toLowerCase(Locale.ROOT),
          line.substring(colon + 1).trim());
    }
    return headers;
  }

  private static byte[] readChunked(InputStream in) throws IOException {
    var body = new ByteArrayOutputStream();
    while (true) {
      var length = Integer.parseInt(readLine(in).split(";")[0].trim(), 16);
      if (length == 0) {
        readHeaders(in, new ArrayList<>()); // trailers
        return body.toByteArray();
      }
      body.write(in.readNBytes(length));
      readLine(in);
    }
  }

  /** A CRLF-terminated line without its terminator, or null at the end of the stream. */
  private static String readLine(InputStream in) throws IOException {
    var line = new ByteArrayOutputStream();
    int b;
    while ((b = in.read()) != -1) {
      if (b == '\n') {
        var bytes = line.toByteArray();
        var cr = bytes.length > 0 && bytes[bytes.length - 1] == '\r';
        var length = cr ? bytes.length - 1 : bytes.length;
        return new String(bytes, 0, length, StandardCharsets.ISO_8859_1);
      }
      line.write(b);
    }
    return line.size() == 0 ? null : line.toString(StandardCharsets.ISO_8859_1);
  }
}
