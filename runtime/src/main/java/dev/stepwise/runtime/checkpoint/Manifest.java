package dev.stepwise.runtime.checkpoint;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.stepwise.api.CheckpointMetrics;
import java.util.List;
import java.util.Map;

/**
 * {@code manifest.json}: the completion marker of a checkpoint, written last. It lists every file
 * of every component with its size and checksum (CRC32C by default, SHA-256 where the writer was
 * asked for it; see {@link Checksum}), so that a reader can tell a complete checkpoint from a
 * damaged one. Format version 1 manifests (SHA-256 only) still load. {@code timeline} tells which
 * history wrote it: a resume to an earlier step starts a new timeline, and recovery never continues
 * from another timeline's checkpoints. {@code reason}, when present, says why the step was saved
 * out of schedule ({@value #REASON_PREEMPTION}: on a stop signal). {@code metrics}, when present,
 * records what training had reached at the step (loss, counts, eval, reward, save time); manifests
 * written before it existed load with none.
 */
public record Manifest(
    @JsonProperty("format") String format,
    @JsonProperty("format_version") int formatVersion,
    @JsonProperty("step") long step,
    @JsonProperty("world_size") int worldSize,
    @JsonProperty("created") String created,
    @JsonProperty("components") Map<String, Component> components,
    @JsonProperty("timeline") long timeline,
    @JsonInclude(JsonInclude.Include.NON_NULL) @JsonProperty("reason") String reason,
    @JsonInclude(JsonInclude.Include.NON_NULL) @JsonProperty("metrics") CheckpointMetrics metrics) {

  /** {@link #reason} of a checkpoint written because the process was told to stop. */
  public static final String REASON_PREEMPTION = "Preemption";

  public static final String FORMAT = "stepwise-checkpoint";
  public static final int FORMAT_VERSION = 2;

  /** The files one role wrote (paths relative to the step directory). */
  public record Component(@JsonProperty("files") List<FileEntry> files) {}

  /**
   * One file: path relative to the step directory, size in bytes, and its checksum in lowercase hex
   * under the name of its kind ({@code crc32c} or {@code sha256}; at least one is present).
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record FileEntry(
      @JsonProperty("path") String path,
      @JsonProperty("size") long size,
      @JsonProperty("sha256") String sha256,
      @JsonProperty("crc32c") String crc32c) {

    /** An entry with a SHA-256 only (as format version 1 wrote them). */
    public FileEntry(String path, long size, String sha256) {
      this(path, size, sha256, null);
    }

    /** An entry recording {@code digest} under its kind's name. */
    public static FileEntry of(String path, long size, Checksum kind, String digest) {
      return kind == Checksum.SHA256
          ? new FileEntry(path, size, digest, null)
          : new FileEntry(path, size, null, digest);
    }

    /** The checksum a reader verifies: CRC32C where recorded (cheaper), else SHA-256. */
    @JsonIgnore
    public Checksum checksum() {
      if (crc32c != null) {
        return Checksum.CRC32C;
      }
      if (sha256 != null) {
        return Checksum.SHA256;
      }
      throw new CheckpointException(path + ": the listing records no checksum (crc32c or sha256)");
    }

    /** The recorded value of {@link #checksum()}. */
    @JsonIgnore
    public String digest() {
      return checksum() == Checksum.CRC32C ? crc32c : sha256;
    }
  }

  @JsonIgnore
  public long totalBytes() {
    return components.values().stream()
        .flatMap(c -> c.files().stream())
        .mapToLong(FileEntry::size)
        .sum();
  }
}
