package dev.stepwise.runtime.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stepwise.runtime.config.ResumeStep;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.OptionalLong;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The checkpoints of a run directory as readers see them: a {@code step_<n>} directory counts only
 * when its manifest is present, parses and names that step. Also applies retention ({@code keep}).
 */
public final class CheckpointStore {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final RunLayout layout;

  public CheckpointStore(RunLayout layout) {
    this.layout = layout;
  }

  public RunLayout layout() {
    return layout;
  }

  /** Steps of complete checkpoints, ascending. */
  public List<Long> completeSteps() {
    var steps = new ArrayList<Long>();
    for (var step : stepDirs()) {
      if (readManifest(step) != null) {
        steps.add(step);
      }
    }
    return steps;
  }

  public OptionalLong latest() {
    var steps = completeSteps();
    return steps.isEmpty() ? OptionalLong.empty() : OptionalLong.of(steps.get(steps.size() - 1));
  }

  /** The step a resume request points at, or a clear error when it cannot be resumed from. */
  public long resolve(ResumeStep request) {
    if (request.latest()) {
      return latest()
          .orElseThrow(
              () ->
                  new CheckpointException(
                      "cannot resume from latest: no complete checkpoint in "
                          + layout.checkpointsDir()));
    }
    manifest(request.step());
    return request.step();
  }

  /** The manifest of a complete checkpoint, or a {@link CheckpointException} saying why not. */
  public Manifest manifest(long step) {
    var dir = layout.stepDir(step);
    if (!Files.isDirectory(dir)) {
      throw new CheckpointException(
          "no checkpoint at step " + step + " in " + layout.checkpointsDir() + describeComplete());
    }
    var manifestFile = layout.manifest(step);
    if (!Files.exists(manifestFile)) {
      throw new CheckpointException(
          dir
              + " is incomplete (no "
              + RunLayout.MANIFEST
              + "): its save did not finish, so it cannot be resumed from"
              + describeComplete());
    }
    var manifest = readManifest(step);
    if (manifest == null) {
      throw new CheckpointException(
          manifestFile + " is unreadable or names another step" + describeComplete());
    }
    return manifest;
  }

  private String describeComplete() {
    var steps = completeSteps();
    return steps.isEmpty() ? " (there are no complete checkpoints)" : " (complete: " + steps + ")";
  }

  /**
   * Keeps the {@code keep} newest complete checkpoints plus any in {@code protectedSteps} (the one
   * being resumed from) and deletes the other complete ones, oldest first. Incomplete directories
   * are neither counted nor touched: they may be a save in flight.
   */
  public List<Long> applyRetention(int keep, Set<Long> protectedSteps) {
    var steps = completeSteps();
    var newest = steps.subList(Math.max(0, steps.size() - keep), steps.size());
    var deleted = new ArrayList<Long>();
    for (var step : steps) {
      if (!newest.contains(step) && !protectedSteps.contains(step)) {
        delete(step);
        deleted.add(step);
      }
    }
    return deleted;
  }

  /** Deletes a checkpoint: the manifest first, so a half-deleted directory is never complete. */
  public void delete(long step) {
    try {
      Files.deleteIfExists(layout.manifest(step));
      AtomicFiles.fsyncDir(layout.stepDir(step));
      deleteTree(layout.stepDir(step));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot delete " + layout.stepDir(step), e);
    }
  }

  static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      for (var p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  private List<Long> stepDirs() {
    var dir = layout.checkpointsDir();
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (var list = Files.list(dir)) {
      return list.filter(Files::isDirectory)
          .map(p -> RunLayout.parseStep(p.getFileName().toString()))
          .filter(OptionalLong::isPresent)
          .map(OptionalLong::getAsLong)
          .sorted()
          .toList();
    } catch (NoSuchFileException e) {
      return List.of();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private Manifest readManifest(long step) {
    try {
      var manifest = JSON.readValue(layout.manifest(step).toFile(), Manifest.class);
      return manifest.step() == step && manifest.components() != null ? manifest : null;
    } catch (IOException e) {
      return null;
    }
  }
}
