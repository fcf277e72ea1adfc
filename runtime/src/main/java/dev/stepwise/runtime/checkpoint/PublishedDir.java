package dev.stepwise.runtime.checkpoint;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.function.LongFunction;

/**
 * The hand-off directories between roles ({@code weights/step_<n>}, {@code rollouts/step_<n>}):
 * written under a temporary name, each file fsynced, the marker {@code published.json} written
 * last, then renamed into place. A directory without its marker is never read.
 *
 * <p>The marker records the writer's {@link Timeline} (id and origin); a reader uses a directory
 * only when its own timeline {@link Timeline#accepts accepts} that stamp, so what an abandoned
 * timeline left there is never read, while a role restarted within its timeline reads what its peer
 * wrote.
 */
public final class PublishedDir {

  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  /** The contents of {@code published.json}. */
  public record Marker(
      @JsonProperty("step") long step,
      @JsonProperty("timeline") long timeline,
      @JsonProperty("origin") long origin,
      @JsonProperty("created") String created,
      @JsonProperty("files") List<Manifest.FileEntry> files) {}

  private PublishedDir() {}

  /**
   * Publishes {@code files} (name to body, in order) as {@code target}, replacing what was there.
   */
  public static Marker publish(
      Path target, long step, Timeline timeline, LinkedHashMap<String, AtomicFiles.Body> files)
      throws IOException {
    var parent = target.getParent();
    Files.createDirectories(parent);
    var tmp = parent.resolve("." + target.getFileName() + ".tmp-" + ProcessHandle.current().pid());
    CheckpointStore.deleteTree(tmp);
    Files.createDirectories(tmp);
    var entries = AtomicFiles.writeAll(tmp, "", files);
    var marker =
        new Marker(
            step,
            timeline.id(),
            timeline.origin(),
            Instant.now().truncatedTo(ChronoUnit.MILLIS).toString(),
            entries);
    AtomicFiles.write(tmp.resolve(RunLayout.PUBLISHED), JSON.writeValueAsBytes(marker));
    AtomicFiles.fsyncDir(tmp);
    if (Files.exists(target)) {
      delete(target);
    }
    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
    AtomicFiles.fsyncDir(parent);
    return marker;
  }

  /**
   * The marker of a published directory, or empty when it is missing, unpublished or unreadable.
   */
  public static Optional<Marker> marker(Path dir) {
    try {
      var marker = JSON.readValue(dir.resolve(RunLayout.PUBLISHED).toFile(), Marker.class);
      return marker.files() == null ? Optional.empty() : Optional.of(marker);
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  /** The marker of {@code dir} if a reader of {@code timeline} may use it as step {@code step}. */
  public static Optional<Marker> usable(Path dir, long step, Timeline timeline) {
    return marker(dir)
        .filter(m -> m.step() == step)
        .filter(m -> timeline.accepts(step, m.timeline(), m.origin()));
  }

  /** Reads a file of a published directory, checking it against the marker's size and SHA-256. */
  public static byte[] readVerified(Path dir, Marker marker, String name) throws IOException {
    var listing = dir.resolve(RunLayout.PUBLISHED);
    return VerifiedFiles.readBytes(
        dir.resolve(name), VerifiedFiles.entry(marker.files(), name, listing), listing);
  }

  /** Deletes a published directory, its marker first so a half-deleted one is never read. */
  public static void delete(Path dir) throws IOException {
    Files.deleteIfExists(dir.resolve(RunLayout.PUBLISHED));
    AtomicFiles.fsyncDir(dir);
    CheckpointStore.deleteTree(dir);
  }

  /**
   * Deletes what a role (re)starting at step {@code start} must not keep of its hand-off
   * directories under {@code parent} ({@code dirOf} names step n's): a new run every step beyond
   * {@code start}; a recovering one only those that {@code timeline} cannot use (a peer may be
   * reading the others). Returns the deleted steps.
   */
  public static List<Long> deleteStale(
      Path parent, LongFunction<Path> dirOf, long start, boolean recovering, Timeline timeline) {
    return deleteSteps(
        parent, n -> n > start && (!recovering || usable(dirOf.apply(n), n, timeline).isEmpty()));
  }

  /** Deletes the {@code step_<n>} directories under {@code parent} that {@code which} selects. */
  public static List<Long> deleteSteps(Path parent, java.util.function.LongPredicate which) {
    var deleted = new ArrayList<Long>();
    if (!Files.isDirectory(parent)) {
      return deleted;
    }
    try (var list = Files.list(parent)) {
      for (var dir : list.toList()) {
        var step = RunLayout.parseStep(dir.getFileName().toString());
        if (step.isPresent() && which.test(step.getAsLong())) {
          delete(dir);
          deleted.add(step.getAsLong());
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot clean " + parent, e);
    }
    return deleted;
  }

  /** Steps published under {@code parent}, ascending. */
  public static List<Long> publishedSteps(Path parent) {
    if (!Files.isDirectory(parent)) {
      return List.of();
    }
    try (var list = Files.list(parent)) {
      return list.map(p -> RunLayout.parseStep(p.getFileName().toString()))
          .filter(OptionalLong::isPresent)
          .map(OptionalLong::getAsLong)
          .sorted()
          .toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
