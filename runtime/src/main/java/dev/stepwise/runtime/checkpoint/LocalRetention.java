package dev.stepwise.runtime.checkpoint;

import dev.stepwise.api.retention.Retention;
import dev.stepwise.api.retention.RetentionDecision;
import dev.stepwise.api.retention.RetentionDecision.QuotaState;
import dev.stepwise.api.retention.RetentionRules;
import dev.stepwise.api.retention.StoredCheckpoint;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.OptionalLong;
import java.util.Set;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code --ckpt.retention local}: applies a run's retention rules to its step folders, deciding
 * exactly as the operator does for Checkpoint resources ({@link Retention#decide}). Each complete
 * checkpoint enters the decision with its size on disk, the metrics its manifest records and its
 * completion time; none is pinned (pins are Checkpoint resources, which a local run has none of).
 * Folders without a manifest (a save in flight) are neither counted nor touched.
 */
public final class LocalRetention {

  /** Fixed-width UTC times, so that ordering them as text orders them in time. */
  private static final DateTimeFormatter COMPLETED_AT =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSSSSS'Z'").withZone(ZoneOffset.UTC);

  private static final Logger LOG = LoggerFactory.getLogger(LocalRetention.class);

  private final CheckpointStore store;
  private final RetentionRules rules;

  public LocalRetention(CheckpointStore store, RetentionRules rules) {
    this.store = store;
    this.rules = rules;
  }

  /**
   * Decides over the complete checkpoints on disk and deletes what the decision retires, never one
   * of {@code protectedSteps} (the resume point, the step just written). Logs the deletions and,
   * when protected checkpoints alone exceed {@code max-bytes}, one warning.
   */
  public RetentionDecision apply(Set<Long> protectedSteps) {
    var stored = new ArrayList<StoredCheckpoint>();
    var timelines = new HashMap<Long, Long>();
    for (var step : store.completeSteps()) {
      var manifest = store.manifestIfComplete(step).orElse(null);
      if (manifest == null) {
        continue;
      }
      timelines.put(step, manifest.timeline());
      stored.add(
          new StoredCheckpoint(
              step,
              completedAt(manifest.created()),
              sizeOnDisk(store.layout().stepDir(step)),
              manifest.metrics(),
              false));
    }
    var decision = Retention.decide(rules, stored, protectedSteps);
    var deleted = new ArrayList<String>();
    var steps = new ArrayList<Long>();
    for (var deletion : decision.deletions()) {
      var outcome =
          store.deleteCheckpoint(deletion.step(), OptionalLong.of(timelines.get(deletion.step())));
      if (outcome == CheckpointStore.Deletion.DELETED) {
        deleted.add(deletion.step() + " (" + flagNames(deletion.reason()) + ")");
        steps.add(deletion.step());
      }
    }
    if (!deleted.isEmpty()) {
      LOG.atInfo()
          .addKeyValue("deletedSteps", steps)
          .log("checkpoint retention: deleted steps " + String.join(", ", deleted));
    }
    if (decision.quota().state() == QuotaState.EXCEEDED_BY_PROTECTED) {
      LOG.warn(
          "warning: checkpoint retention: "
              + flagNames(decision.quota().message())
              + "; raise --ckpt.max-bytes or free space");
    }
    return decision;
  }

  /** The decision's words for the rules (the spec's field names), as this process's flags. */
  private static String flagNames(String text) {
    return text.replace("maxBytes", "--ckpt.max-bytes");
  }

  /** Bytes of every regular file under {@code dir} (0 when it is gone). */
  static long sizeOnDisk(Path dir) {
    try (Stream<Path> files = Files.walk(dir)) {
      return files.filter(Files::isRegularFile).mapToLong(LocalRetention::size).sum();
    } catch (NoSuchFileException gone) {
      return 0;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot measure " + dir + ": " + e, e);
    } catch (UncheckedIOException e) {
      if (e.getCause() instanceof NoSuchFileException) {
        return 0;
      }
      throw e;
    }
  }

  private static long size(Path file) {
    try {
      return Files.size(file);
    } catch (NoSuchFileException gone) {
      return 0;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** {@code created} as fixed-width RFC 3339, or null when the manifest has none. */
  static String completedAt(String created) {
    if (created == null) {
      return null;
    }
    try {
      return COMPLETED_AT.format(Instant.parse(created));
    } catch (DateTimeParseException e) {
      return null;
    }
  }
}
