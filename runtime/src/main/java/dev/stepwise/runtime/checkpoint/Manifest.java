package dev.stepwise.runtime.checkpoint;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;
import java.util.Map;

/**
 * {@code manifest.json}: the completion marker of a checkpoint, written last. It lists every file
 * of every component with its size and SHA-256, so that a reader can tell a complete checkpoint
 * from a damaged one. {@code timeline} tells which history wrote it: a resume to an earlier step
 * starts a new timeline, and recovery never continues from another timeline's checkpoints.
 */
public record Manifest(
    @JsonProperty("format") String format,
    @JsonProperty("format_version") int formatVersion,
    @JsonProperty("step") long step,
    @JsonProperty("world_size") int worldSize,
    @JsonProperty("created") String created,
    @JsonProperty("components") Map<String, Component> components,
    @JsonProperty("timeline") long timeline) {

  public static final String FORMAT = "stepwise-checkpoint";
  public static final int FORMAT_VERSION = 1;

  /** A manifest of timeline 0 (manifests written before timelines existed read as timeline 0). */
  public Manifest(
      String format,
      int formatVersion,
      long step,
      int worldSize,
      String created,
      Map<String, Component> components) {
    this(format, formatVersion, step, worldSize, created, components, 0);
  }

  /** The files one role wrote (paths relative to the step directory). */
  public record Component(@JsonProperty("files") List<FileEntry> files) {}

  /** One file: path relative to the step directory, size in bytes, lowercase hex SHA-256. */
  public record FileEntry(
      @JsonProperty("path") String path,
      @JsonProperty("size") long size,
      @JsonProperty("sha256") String sha256) {}

  public long totalBytes() {
    return components.values().stream()
        .flatMap(c -> c.files().stream())
        .mapToLong(FileEntry::size)
        .sum();
  }
}
