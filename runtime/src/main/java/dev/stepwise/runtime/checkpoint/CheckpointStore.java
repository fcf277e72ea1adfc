package dev.stepwise.runtime.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stepwise.runtime.config.CkptConfig;
import dev.stepwise.runtime.config.ResumeStep;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.stream.Stream;

/**
 * The checkpoints of a run directory as readers see them: a {@code step_<n>} directory counts only
 * when its manifest is present, parses and names that step. Retention decides through {@link
 * LocalRetention}.
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

  /**
   * Where a run starts, given its checkpoint config: with {@code recover}, the newest complete
   * checkpoint of {@code ckpt.timeline} beyond the resume step (beyond 0 when there is none), so a
   * restarted pod continues where its timeline got to and never from another timeline's
   * checkpoints; otherwise (or when there is none yet) the resume step; empty for a fresh start.
   */
  public OptionalLong resolveStart(CkptConfig ckpt) {
    if (ckpt == null) {
      return OptionalLong.empty();
    }
    var request = ckpt.resumeStep();
    if (ckpt.recover()) {
      var floor = request == null || request.latest() ? 0 : request.step();
      var recovered = latestOfTimeline(ckpt.timeline(), floor);
      if (recovered.isPresent()) {
        return recovered;
      }
    }
    return request == null ? OptionalLong.empty() : OptionalLong.of(resolve(request));
  }

  /** The newest complete checkpoint written by {@code timeline} with a step above {@code after}. */
  public OptionalLong latestOfTimeline(long timeline, long after) {
    return latestOfTimeline(timeline, after, completeSteps());
  }

  /**
   * As {@link #latestOfTimeline(long, long)}, among {@code steps}, the {@link #completeSteps()} the
   * caller has already listed (ascending).
   */
  public OptionalLong latestOfTimeline(long timeline, long after, List<Long> steps) {
    for (var i = steps.size() - 1; i >= 0 && steps.get(i) > after; i--) {
      var manifest = readManifest(steps.get(i));
      if (manifest != null && manifest.timeline() == timeline) {
        return OptionalLong.of(steps.get(i));
      }
    }
    return OptionalLong.empty();
  }

  /** What {@link #deleteCheckpoint} did. */
  public enum Deletion {
    /** The step directory was renamed to a hidden tombstone and deleted. */
    DELETED,
    /** There is no such step directory (already deleted). */
    ABSENT,
    /** The directory has no valid manifest: possibly a save in flight, so it was left alone. */
    INCOMPLETE,
    /** The checkpoint there now belongs to another timeline (it was replaced): left alone. */
    OTHER_TIMELINE
  }

  /**
   * Deletes the complete checkpoint at {@code step} (only if written by {@code timeline}, when
   * given): renames the step directory to a hidden tombstone first, so it stops being a checkpoint
   * at once, then deletes the tombstone. Also removes tombstones a crash left behind.
   *
   * <p>A trainer may swap a new timeline's copy of the same step in (see {@link
   * CheckpointWriter#write}) between the check of the manifest and the rename. So the manifest is
   * read again from the tombstone, and a copy of another timeline goes back where it was: what
   * another timeline wrote is never deleted.
   */
  public Deletion deleteCheckpoint(long step, OptionalLong timeline) {
    return deleteCheckpoint(step, timeline, () -> {});
  }

  /** {@link #deleteCheckpoint(long, OptionalLong)}, running {@code beforeRename} in its window. */
  Deletion deleteCheckpoint(long step, OptionalLong timeline, Runnable beforeRename) {
    var dir = layout.stepDir(step);
    try {
      sweepTombstones();
      if (!Files.isDirectory(dir)) {
        return Deletion.ABSENT;
      }
      var manifest = readManifest(dir, step);
      if (manifest == null) {
        return Deletion.INCOMPLETE; // a first save in flight writes here: never moved
      }
      if (!ofTimeline(manifest, timeline)) {
        return Deletion.OTHER_TIMELINE;
      }
      beforeRename.run();
      var tombstone = layout.tombstone(step, RunLayout.Tombstone.DELETED);
      try {
        Files.move(dir, tombstone, StandardCopyOption.ATOMIC_MOVE);
      } catch (NoSuchFileException deletedMeanwhile) {
        return Deletion.ABSENT;
      }
      var taken = readManifest(tombstone, step);
      if (taken == null || !ofTimeline(taken, timeline)) {
        Files.move(tombstone, dir, StandardCopyOption.ATOMIC_MOVE);
        AtomicFiles.fsyncDir(layout.checkpointsDir());
        return Deletion.OTHER_TIMELINE;
      }
      AtomicFiles.fsyncDir(layout.checkpointsDir());
      deleteTree(tombstone);
      return Deletion.DELETED;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot delete " + dir, e);
    }
  }

  private static boolean ofTimeline(Manifest manifest, OptionalLong timeline) {
    return timeline.isEmpty() || manifest.timeline() == timeline.getAsLong();
  }

  private void sweepTombstones() throws IOException {
    var dir = layout.checkpointsDir();
    if (!Files.isDirectory(dir)) {
      return;
    }
    try (var list = Files.list(dir)) {
      for (var p : list.toList()) {
        if (RunLayout.isTombstone(p.getFileName().toString())) {
          deleteTree(p);
        }
      }
    }
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

  /**
   * The manifest of complete checkpoint {@code step}, or empty when it is no longer complete
   * (deleted since {@link #completeSteps} listed it).
   */
  public Optional<Manifest> manifestIfComplete(long step) {
    try {
      return Optional.of(manifest(step));
    } catch (CheckpointException deletedMeanwhile) {
      return Optional.empty();
    }
  }

  private String describeComplete() {
    var steps = completeSteps();
    return steps.isEmpty() ? " (there are no complete checkpoints)" : " (complete: " + steps + ")";
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
    } catch (NoSuchFileException deletedMeanwhile) {
      // another process deleted it first
    } catch (UncheckedIOException e) {
      if (!(e.getCause() instanceof NoSuchFileException)) {
        throw e.getCause();
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
    return readManifest(layout.stepDir(step), step);
  }

  /** The manifest in {@code dir} if it describes {@code step}, else null. */
  private static Manifest readManifest(Path dir, long step) {
    try {
      var manifest = JSON.readValue(dir.resolve(RunLayout.MANIFEST).toFile(), Manifest.class);
      return manifest.step() == step && manifest.components() != null ? manifest : null;
    } catch (IOException e) {
      return null;
    }
  }
}
