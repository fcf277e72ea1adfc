package dev.stepwise.runtime.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Writes one checkpoint step directory: every file atomically, then {@code manifest.json} (sizes
 * and SHA-256 of every file) last. A crash at any point leaves either the previous state or a
 * directory without a manifest, which readers ignore.
 */
public final class CheckpointWriter {

  static final ObjectMapper JSON =
      new ObjectMapper()
          .enable(SerializationFeature.INDENT_OUTPUT)
          .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS);

  /** One file of a component: its name inside the component directory and how to write it. */
  public record ComponentFile(String name, AtomicFiles.Body body) {}

  /** Called after each file is durably written; tests use it to simulate a crash mid-save. */
  @FunctionalInterface
  public interface FileListener {
    void written(Path file);

    FileListener NONE = file -> {};
  }

  private final RunLayout layout;
  private final FileListener listener;

  public CheckpointWriter(RunLayout layout) {
    this(layout, FileListener.NONE);
  }

  public CheckpointWriter(RunLayout layout, FileListener listener) {
    this.layout = layout;
    this.listener = listener;
  }

  /** Writes the given components of {@code step} and then its manifest. */
  public Manifest write(long step, int worldSize, Map<String, List<ComponentFile>> components)
      throws IOException {
    var stepDir = layout.stepDir(step);
    // Re-saving a step (a new timeline after a resume) first demotes the old copy to incomplete.
    Files.deleteIfExists(layout.manifest(step));
    Files.createDirectories(stepDir);
    var entries = new TreeMap<String, Manifest.Component>();
    for (var component : new TreeMap<>(components).entrySet()) {
      var dir = layout.componentDir(step, component.getKey());
      Files.createDirectories(dir);
      var files = new ArrayList<Manifest.FileEntry>();
      for (var file : component.getValue()) {
        var target = dir.resolve(file.name());
        var written = AtomicFiles.write(target, file.body());
        files.add(
            new Manifest.FileEntry(
                component.getKey() + "/" + file.name(), written.size(), written.sha256()));
        listener.written(target);
      }
      entries.put(component.getKey(), new Manifest.Component(files));
    }
    AtomicFiles.fsyncDir(stepDir);
    var manifest =
        new Manifest(
            Manifest.FORMAT,
            Manifest.FORMAT_VERSION,
            step,
            worldSize,
            Instant.now().truncatedTo(ChronoUnit.MILLIS).toString(),
            new LinkedHashMap<>(entries));
    AtomicFiles.write(layout.manifest(step), JSON.writeValueAsBytes(manifest));
    AtomicFiles.fsyncDir(layout.checkpointsDir());
    listener.written(layout.manifest(step));
    return manifest;
  }

  /** Checks every file of a manifest against its recorded size; contents are hashed on load. */
  public static void checkSizes(Path stepDir, Manifest manifest) {
    for (var component : manifest.components().values()) {
      for (var file : component.files()) {
        var path = stepDir.resolve(file.path());
        long size;
        try {
          size = Files.size(path);
        } catch (IOException e) {
          throw new CheckpointException(path + " is missing (listed in the manifest)");
        }
        if (size != file.size()) {
          throw new CheckpointException(
              path + " has " + size + " bytes, the manifest says " + file.size() + ": corrupt");
        }
      }
    }
  }
}
