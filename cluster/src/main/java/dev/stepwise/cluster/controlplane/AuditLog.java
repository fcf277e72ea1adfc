package dev.stepwise.cluster.controlplane;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Predicate;
import java.util.stream.Collectors;

/**
 * Reads the API server's audit log (JSON lines at the {@code Metadata} level) to count the requests
 * that changed something: who wrote what, with which verb and answer. Reading starts at a mark, so
 * a benchmark or a test phase counts only its own window.
 */
public final class AuditLog {

  /** Verbs that write. */
  public static final Set<String> WRITES =
      Set.of("create", "update", "patch", "delete", "deletecollection");

  /** The user extra a bound ServiceAccount token carries: the pod it was issued for. */
  private static final String POD_NAME = "authentication.kubernetes.io/pod-name";

  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * One completed request.
   *
   * @param pod the pod whose bound ServiceAccount token made it (two pods of one ServiceAccount
   *     tell apart by it), or null
   * @param at when the API server received it
   */
  public record Request(
      String user,
      String verb,
      String resource,
      String subresource,
      String namespace,
      String name,
      int code,
      String pod,
      Instant at) {

    /** {@code resource[/subresource]}. */
    public String what() {
      return subresource == null || subresource.isEmpty() ? resource : resource + "/" + subresource;
    }

    public boolean isWrite() {
      return WRITES.contains(verb);
    }
  }

  private final Path file;
  private long offset;

  public AuditLog(Path file) {
    this.file = file;
  }

  /** Forgets everything logged so far: later reads start here. */
  public AuditLog mark() throws IOException {
    offset = Files.exists(file) ? Files.size(file) : 0;
    return this;
  }

  /** The completed requests logged since the mark (or the last {@link #take()}), then marks. */
  public List<Request> take() throws IOException {
    var requests = new ArrayList<Request>();
    if (!Files.exists(file)) {
      return requests;
    }
    try (var in = new RandomAccessFile(file.toFile(), "r")) {
      var end = in.length();
      if (end < offset) {
        offset = 0; // rotated or truncated
      }
      var bytes = new byte[(int) (end - offset)];
      in.seek(offset);
      in.readFully(bytes);
      var text = new String(bytes, StandardCharsets.UTF_8);
      var complete = text.lastIndexOf('\n') + 1; // a line being written is read next time
      offset += text.substring(0, complete).getBytes(StandardCharsets.UTF_8).length;
      for (var line : text.substring(0, complete).split("\n")) {
        if (!line.isBlank()) {
          parse(JSON.readTree(line)).ifPresent(requests::add);
        }
      }
    }
    return requests;
  }

  private static java.util.Optional<Request> parse(JsonNode event) {
    if (!"ResponseComplete".equals(event.path("stage").asText())) {
      return java.util.Optional.empty();
    }
    var ref = event.path("objectRef");
    var user = event.path("user");
    var received = event.path("requestReceivedTimestamp").asText(null);
    return java.util.Optional.of(
        new Request(
            user.path("username").asText(),
            event.path("verb").asText(),
            ref.path("resource").asText(null),
            ref.path("subresource").asText(null),
            ref.path("namespace").asText(null),
            ref.path("name").asText(null),
            event.path("responseStatus").path("code").asInt(),
            user.path("extra").path(POD_NAME).path(0).asText(null),
            received == null ? null : Instant.parse(received)));
  }

  /** Writes among {@code requests} by {@code who}, counted by {@code verb resource[/sub]}. */
  public static Map<String, Long> writesBy(List<Request> requests, Predicate<String> who) {
    return requests.stream()
        .filter(Request::isWrite)
        .filter(r -> who.test(r.user()))
        .collect(
            Collectors.groupingBy(
                r -> r.verb() + " " + r.what(), TreeMap::new, Collectors.counting()));
  }

  /**
   * Objects that {@code requests} created successfully more than once ({@code resource
   * namespace/name}), with how often: a duplicate create, or one deleted and created again.
   */
  public static Map<String, Long> createdMoreThanOnce(List<Request> requests) {
    return requests.stream()
        .filter(r -> "create".equals(r.verb()) && r.code() == 201)
        .filter(r -> r.subresource() == null || r.subresource().isEmpty())
        .collect(
            Collectors.groupingBy(
                r -> r.resource() + " " + r.namespace() + "/" + r.name(),
                TreeMap::new,
                Collectors.counting()))
        .entrySet()
        .stream()
        .filter(e -> e.getValue() > 1)
        .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue));
  }

  /** The number of writes by {@code who}. */
  public static long countWrites(List<Request> requests, Predicate<String> who) {
    return requests.stream().filter(Request::isWrite).filter(r -> who.test(r.user())).count();
  }
}
