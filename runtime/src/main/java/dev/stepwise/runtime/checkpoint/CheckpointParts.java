package dev.stepwise.runtime.checkpoint;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Checkpoints written by two processes (RL: trainer and orchestrator). Each role other than the
 * trainer writes its part ({@code step_<n>/<role>/}) file by file, atomically, and then its part
 * marker {@code part-complete.json} listing those files. The trainer, after its own files, waits
 * (bounded) for the other parts' markers and writes {@code manifest.json} covering all parts: a
 * step with only one part has no manifest and is not a checkpoint.
 */
public final class CheckpointParts {

  private static final ObjectMapper JSON = new ObjectMapper();

  /** The contents of {@code part-complete.json}. */
  public record PartMarker(
      @JsonProperty("step") long step,
      @JsonProperty("component") String component,
      @JsonProperty("timeline") long timeline,
      @JsonProperty("origin") long origin,
      @JsonProperty("files") List<Manifest.FileEntry> files) {}

  private CheckpointParts() {}

  /** Writes {@code component}'s part of {@code step} (files, then marker) into the step dir. */
  public static PartMarker write(
      RunLayout layout,
      long step,
      String component,
      Timeline timeline,
      LinkedHashMap<String, AtomicFiles.Body> files)
      throws IOException {
    var dir = layout.componentDir(step, component);
    Files.createDirectories(dir);
    Files.deleteIfExists(layout.partMarker(step, component));
    var entries = AtomicFiles.writeAll(dir, component + "/", files);
    var marker = new PartMarker(step, component, timeline.id(), timeline.origin(), entries);
    AtomicFiles.write(layout.partMarker(step, component), JSON.writeValueAsBytes(marker));
    return marker;
  }

  /** The part marker of {@code component} at {@code step}, if present and of this timeline. */
  public static Optional<PartMarker> marker(
      RunLayout layout, long step, String component, Timeline timeline) {
    try {
      var marker = JSON.readValue(layout.partMarker(step, component).toFile(), PartMarker.class);
      return marker.step() == step
              && marker.timeline() == timeline.id()
              && marker.origin() == timeline.origin()
              && marker.files() != null
          ? Optional.of(marker)
          : Optional.empty();
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  /**
   * The trainer's {@link CheckpointWriter.ExternalParts}: waits up to {@code timeout} for {@code
   * component}'s part of the step (written by a process of {@code timeline}), copies it into the
   * directory being completed when that is a staging copy, and checks it.
   */
  public static CheckpointWriter.ExternalParts awaiting(
      RunLayout layout, String component, Timeline timeline, Duration timeout) {
    return (step, dir) -> {
      var deadline = System.nanoTime() + timeout.toNanos();
      Optional<PartMarker> marker;
      while ((marker = marker(layout, step, component, timeline)).isEmpty()) {
        if (System.nanoTime() > deadline) {
          throw new CheckpointException(
              "checkpoint step "
                  + step
                  + ": the "
                  + component
                  + " part did not complete within "
                  + timeout.toSeconds()
                  + " s (no "
                  + layout.partMarker(step, component)
                  + "); the step stays incomplete");
        }
        try {
          Thread.sleep(50);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IOException("interrupted while waiting for the " + component + " part", e);
        }
      }
      var source = layout.stepDir(step);
      for (var file : marker.get().files()) {
        var bytes =
            VerifiedFiles.readBytes(
                source.resolve(file.path()), file, layout.partMarker(step, component));
        if (!dir.equals(source)) {
          var to = dir.resolve(file.path());
          Files.createDirectories(to.getParent());
          AtomicFiles.write(to, bytes);
        }
      }
      return Map.of(component, new Manifest.Component(marker.get().files()));
    };
  }
}
