package dev.stepwise.operator.checkpoint;

import dev.stepwise.api.Checkpoint;
import dev.stepwise.api.InitCheckpointSpec;
import dev.stepwise.api.TrainingRun;
import dev.stepwise.operator.status.ConditionReason;
import dev.stepwise.operator.validation.SpecProblem;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ResourceCache;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * {@code spec.init.checkpoint}: the other run's Checkpoint a run's model starts from (RL from an
 * SFT run, or SFT from another run's checkpoint), weights only. Whether it can start from it, and
 * which checkpoints other runs start from (those stay).
 */
public final class InitSource {

  /** Index of the TrainingRun cache: namespace/name of the run a TrainingRun starts from. */
  public static final String INDEX = "init-source";

  private static final String FIELD = "spec.init.checkpoint";

  private InitSource() {}

  /** The checkpoint {@code run} starts from, when spec.init names one. */
  public static Optional<InitCheckpointSpec> of(TrainingRun run) {
    var init = run.getSpec() == null ? null : run.getSpec().getInit();
    return Optional.ofNullable(init == null ? null : init.getCheckpoint())
        .filter(c -> c.getTrainingRun() != null && c.getStep() != null);
  }

  /** Key of the {@link #INDEX}: the source run of {@code run}, if any. */
  public static List<String> indexKeys(TrainingRun run) {
    return of(run).map(c -> key(run.getMetadata().getNamespace(), c.getTrainingRun())).stream()
        .toList();
  }

  public static String key(String namespace, String runName) {
    return namespace + "/" + runName;
  }

  /**
   * Why {@code run} cannot start yet from its init checkpoint, from the informer caches. Only the
   * first trainer waits for it: once the run has started, it trains on from its own checkpoints and
   * the source no longer gates it.
   */
  public static Optional<SpecProblem> problem(TrainingRun run, Context<TrainingRun> context) {
    var init = of(run);
    if (init.isEmpty() || context.getSecondaryResource(StatefulSet.class).isPresent()) {
      return Optional.empty();
    }
    var ns = run.getMetadata().getNamespace();
    var source = context.getPrimaryCache().get(new ResourceID(init.get().getTrainingRun(), ns));
    @SuppressWarnings("unchecked")
    var cache =
        (ResourceCache<Checkpoint>)
            context.eventSourceRetriever().getEventSourceFor(Checkpoint.class);
    return problem(run, source, cache.list(ns).toList());
  }

  /**
   * Why {@code run} cannot start from its init checkpoint: the source is the run itself, or the
   * source run or its Checkpoint at that step is missing or not Ready. Empty without spec.init.
   *
   * @param source the TrainingRun spec.init names, if it exists
   * @param sourceCheckpoints every Checkpoint of the namespace (only the source run's are used)
   */
  public static Optional<SpecProblem> problem(
      TrainingRun run, Optional<TrainingRun> source, Collection<Checkpoint> sourceCheckpoints) {
    var ref = of(run);
    if (ref.isEmpty()) {
      return Optional.empty();
    }
    var name = ref.get().getTrainingRun();
    var step = ref.get().getStep();
    if (name.equals(run.getMetadata().getName())) {
      return Optional.of(
          new SpecProblem(
              FIELD + ".trainingRun",
              ConditionReason.InvalidSpec,
              "a run cannot start from its own checkpoint: use spec.resumeStep to resume"));
    }
    var namespace = run.getMetadata().getNamespace();
    if (source.isEmpty()) {
      return Optional.of(
          new SpecProblem(
              FIELD,
              ConditionReason.InitCheckpointNotFound,
              "TrainingRun \"%s\" not found in namespace \"%s\"; create it and let it reach step %d"
                  .formatted(name, namespace, step)));
    }
    var checkpoints = RunCheckpoints.of(source.get(), sourceCheckpoints);
    if (checkpoints.isReady(step)) {
      return Optional.empty();
    }
    var existing =
        checkpoints.all().stream()
            .filter(c -> Objects.equals(c.getSpec().getStep(), step))
            .findAny();
    var checkpoint = Checkpoint.nameOf(name, step);
    var state =
        existing
            .map(c -> "Checkpoint %s is %s".formatted(checkpoint, phase(c)))
            .orElse("Checkpoint %s does not exist".formatted(checkpoint));
    return Optional.of(
        new SpecProblem(
            FIELD,
            ConditionReason.InitCheckpointNotFound,
            "no Ready checkpoint at step %d of run %s (%s); Ready steps: %s"
                .formatted(step, name, state, checkpoints.describeReady())));
  }

  /** Steps of {@code run}'s checkpoints that some run in {@code runs} starts from. */
  public static Set<Long> stepsUsedBy(TrainingRun run, Collection<TrainingRun> runs) {
    var name = run.getMetadata().getName();
    var namespace = run.getMetadata().getNamespace();
    return runs.stream()
        .filter(r -> r.getMetadata().getDeletionTimestamp() == null)
        .filter(r -> Objects.equals(r.getMetadata().getNamespace(), namespace))
        .flatMap(r -> of(r).stream())
        .filter(c -> name.equals(c.getTrainingRun()))
        .map(InitCheckpointSpec::getStep)
        .collect(Collectors.toSet());
  }

  /** Names of the runs among {@code runs} that start from {@code checkpoint}, sorted. */
  public static List<String> runsStartingFrom(Checkpoint checkpoint, Collection<TrainingRun> runs) {
    var spec = checkpoint.getSpec();
    return runs.stream()
        .filter(r -> r.getMetadata().getDeletionTimestamp() == null)
        .filter(
            r ->
                of(r)
                    .filter(c -> c.getTrainingRun().equals(spec.getTrainingRun()))
                    .filter(c -> c.getStep().equals(spec.getStep()))
                    .isPresent())
        .map(r -> r.getMetadata().getName())
        .sorted()
        .toList();
  }

  private static String phase(Checkpoint c) {
    if (c.getMetadata().getDeletionTimestamp() != null) {
      return "being deleted";
    }
    return c.getStatus() == null || c.getStatus().getPhase() == null
        ? "no phase yet"
        : c.getStatus().getPhase().name();
  }
}
