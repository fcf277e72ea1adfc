package dev.stepwise.runtime.trainer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.stepwise.runtime.checkpoint.AtomicFiles;
import dev.stepwise.runtime.checkpoint.CheckpointException;
import dev.stepwise.runtime.checkpoint.CheckpointStore;
import dev.stepwise.runtime.checkpoint.CheckpointWriter;
import dev.stepwise.runtime.checkpoint.CheckpointWriter.ComponentFile;
import dev.stepwise.runtime.checkpoint.Manifest;
import dev.stepwise.runtime.checkpoint.ParallelIo;
import dev.stepwise.runtime.checkpoint.RunLayout;
import dev.stepwise.runtime.checkpoint.Safetensors;
import dev.stepwise.runtime.checkpoint.VerifiedFiles;
import dev.stepwise.runtime.model.Threads;
import dev.stepwise.runtime.parallel.ShardPlan;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.helpers.NOPLogger;

/**
 * The trainer's part of a checkpoint ({@code step_<n>/trainer/}): per-rank model and optimizer
 * shards in safetensors, and small JSON files for progress, the LR scheduler and the per-rank state
 * that makes a continuation exact (CPU generator state, data position, thread counts).
 *
 * <p>Ranks hold replicas of the whole state (data parallel), but each saves a disjoint part of it,
 * as a {@link ShardPlan} assigns whole parameters (with their optimizer state) to ranks; rank 0
 * also saves the shard indexes ({@code model.safetensors.index.json}, {@code weight_map} format)
 * and the shared JSON files. Restoring reads every shard of the world size the checkpoint was
 * written at and reassembles the full state, so a checkpoint of N ranks loads at M.
 */
public final class TrainerCheckpoint {

  private static final Logger LOG = LoggerFactory.getLogger(TrainerCheckpoint.class);

  public static final String SCHEDULER = "scheduler.json";
  public static final String CONFIG = "config.toml";

  private static final ObjectMapper JSON =
      new ObjectMapper()
          .enable(SerializationFeature.INDENT_OUTPUT)
          .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS);

  /** Everything one rank saves for one step, detached from the live training state. */
  public record Snapshot(
      long step,
      int rank,
      int worldSize,
      SortedMap<String, Tensor> model,
      SortedMap<String, Tensor> optimizer,
      Map<String, byte[]> jsonFiles) {

    public long tensorBytes() {
      long n = 0;
      for (var t : model.values()) {
        n += t.nbytes();
      }
      for (var t : optimizer.values()) {
        n += t.nbytes();
      }
      return n;
    }

    /** The files of the {@code trainer} component, in a fixed order. */
    public List<ComponentFile> files() {
      var files = new ArrayList<ComponentFile>();
      files.add(
          new ComponentFile(
              RunLayout.shardFile("model", rank, worldSize),
              out -> Safetensors.write(out, model, Map.of("format", "pt"))));
      files.add(
          new ComponentFile(
              RunLayout.shardFile("optimizer", rank, worldSize),
              out ->
                  Safetensors.write(
                      out, optimizer, Map.of("optimizer", "adamw", "step", Long.toString(step)))));
      for (var e : new TreeMap<>(jsonFiles).entrySet()) {
        var bytes = e.getValue();
        files.add(new ComponentFile(e.getKey(), AtomicFiles.Body.of(bytes)));
      }
      return files;
    }
  }

  /** What a restore hands back to the trainer. */
  public record Restored(Progress progress, JsonNode rankState) {}

  private TrainerCheckpoint() {}

  /**
   * Restores complete checkpoint {@code step} of {@code store} into the live state, saying on rank
   * 0's log (each line after {@code logPrefix}) whether it resharded and whether the thread counts
   * changed (the continuation is then not bit-identical). Refuses a step beyond {@code maxSteps}.
   */
  public static Restored resume(
      CheckpointStore store,
      long step,
      Map<String, Tensor> parameters,
      AdamW optimizer,
      int rank,
      int worldSize,
      long maxSteps,
      String logPrefix) {
    var log = rank == 0 ? LOG : NOPLogger.NOP_LOGGER;
    var stepDir = store.layout().stepDir(step);
    var manifest = store.manifest(step);
    CheckpointWriter.checkSizes(stepDir, manifest);
    var restored =
        restore(stepDir, manifest, parameters, optimizer, rank, worldSize, defaultIoThreads());
    var progress = restored.progress();
    if (manifest.worldSize() != worldSize) {
      log.info(
          String.format(
              "%sresharded: the checkpoint was written by %d rank(s), this run has %d",
              logPrefix, manifest.worldSize(), worldSize));
    }
    var saved = restored.rankState().path("threads");
    var now = Threads.current();
    var torchThreads = saved.path("torch_intra_op").asInt(now.torchThreads());
    var blas = saved.path("openblas").asText(now.blasThreads());
    if (torchThreads != now.torchThreads() || !blas.equals(now.blasThreads())) {
      log.warn(
          String.format(
              "%swarning: the checkpoint was written with threads torch=%d blas=%s, now torch=%d"
                  + " blas=%s: the continuation will not be bit-identical",
              logPrefix, torchThreads, blas, now.torchThreads(), now.blasThreads()));
    }
    log.atInfo()
        .addKeyValue("step", progress.step())
        .log(
            String.format(
                "%sresumed from %s (step %d, %,d samples, %,d tokens)",
                logPrefix,
                stepDir,
                progress.step(),
                progress.totalSamples(),
                progress.totalTokens()));
    if (progress.step() > maxSteps) {
      throw new CheckpointException(
          "checkpoint step "
              + progress.step()
              + " is beyond max-steps "
              + maxSteps
              + ": raise --max-steps");
    }
    return restored;
  }

  /**
   * The per-rank state a trainer saves beside its shards: rank, seed, thread counts and {@code
   * data}, how its input resumes ({@link #capture} adds the generator state).
   */
  public static Map<String, Object> rankState(
      int rank, int worldSize, long seed, Threads threads, Map<String, Object> data) {
    var state = new LinkedHashMap<String, Object>();
    state.put("rank", rank);
    state.put("world_size", worldSize);
    state.put("seed", seed);
    state.put(
        "threads",
        Map.of("torch_intra_op", threads.torchThreads(), "openblas", threads.blasThreads()));
    state.put("data", data);
    return state;
  }

  /**
   * Copies the live state to host memory (on the training thread), into reused {@code buffers} (new
   * host copies when null): the snapshot's tensors are then the buffers', valid until the next
   * capture into them. The snapshot can be written by another thread while training continues.
   */
  public static Snapshot capture(
      Map<String, Tensor> parameters,
      AdamW optimizer,
      Progress progress,
      LrSchedule schedule,
      Map<String, Object> rankState,
      String configToml,
      int rank,
      int worldSize,
      HostBuffers buffers) {
    try (var noGrad = new NoGradGuard()) {
      var plan = ShardPlan.of(sizes(parameters), worldSize);
      var owned = plan.ownedBy(rank);
      var liveModel = new TreeMap<String, Tensor>();
      parameters.forEach(
          (k, v) -> {
            if (owned.contains(k)) {
              liveModel.put(k, v);
            }
          });
      var liveOptim = new TreeMap<String, Tensor>();
      optimizer
          .state()
          .forEach(
              (k, v) -> {
                if (owned.contains(AdamW.parameterOf(k))) {
                  liveOptim.put(k, v);
                }
              });
      var model = new TreeMap<String, Tensor>();
      var optim = new TreeMap<String, Tensor>();
      if (buffers == null) {
        liveModel.forEach((k, v) -> model.put(k, hostCopy(v)));
        liveOptim.forEach((k, v) -> optim.put(k, hostCopy(v)));
      } else {
        var all = new LinkedHashMap<String, Tensor>();
        liveModel.forEach((k, v) -> all.put("model/" + k, v));
        liveOptim.forEach((k, v) -> all.put("optimizer/" + k, v));
        var copies = buffers.copyAll(all, defaultIoThreads());
        liveModel.keySet().forEach(k -> model.put(k, copies.get("model/" + k)));
        liveOptim.keySet().forEach(k -> optim.put(k, copies.get("optimizer/" + k)));
      }
      var scheduler = new LinkedHashMap<String, Object>();
      var sc = schedule.config();
      scheduler.put("type", sc.type().name().toLowerCase(java.util.Locale.ROOT));
      scheduler.put("peak_lr", schedule.peakLr());
      scheduler.put("warmup_steps", sc.warmupSteps());
      scheduler.put("decay_steps", sc.decaySteps());
      scheduler.put("min_lr", sc.minLr());
      scheduler.put("step", progress.step());
      scheduler.put("last_lr", schedule.lr(Math.max(1, progress.step())));
      var state = new LinkedHashMap<>(rankState);
      state.put("optimizer_step", optimizer.steps());
      state.put("rng", Map.of("cpu_generator_state", generatorState()));
      var json = new LinkedHashMap<String, byte[]>();
      try {
        json.put(RunLayout.rankStateFile(rank, worldSize), JSON.writeValueAsBytes(state));
        if (rank == 0) {
          json.put(RunLayout.PROGRESS, JSON.writeValueAsBytes(progress));
          json.put(SCHEDULER, JSON.writeValueAsBytes(scheduler));
          json.put(CONFIG, configToml.getBytes(java.nio.charset.StandardCharsets.UTF_8));
          json.put(
              RunLayout.shardIndexFile("model"),
              JSON.writeValueAsBytes(index(plan, parameters.keySet(), false)));
          json.put(
              RunLayout.shardIndexFile("optimizer"),
              JSON.writeValueAsBytes(index(plan, optimizer.state().keySet(), true)));
        }
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
      return new Snapshot(progress.step(), rank, worldSize, model, optim, json);
    }
  }

  private static Map<String, Long> sizes(Map<String, Tensor> parameters) {
    var sizes = new TreeMap<String, Long>();
    parameters.forEach((k, v) -> sizes.put(k, v.numel()));
    return sizes;
  }

  private static Map<String, Object> index(
      ShardPlan plan, java.util.Collection<String> names, boolean optimizerState) {
    var weightMap = new TreeMap<String, String>();
    for (var name : names) {
      var owner = plan.owner(optimizerState ? AdamW.parameterOf(name) : name);
      weightMap.put(
          name,
          RunLayout.shardFile(optimizerState ? "optimizer" : "model", owner, plan.worldSize()));
    }
    var index = new LinkedHashMap<String, Object>();
    index.put("metadata", Map.of("world_size", Integer.toString(plan.worldSize())));
    index.put("weight_map", weightMap);
    return index;
  }

  /** The files a restore reads at once by default: one per core, at most 4. */
  public static int defaultIoThreads() {
    return Math.min(4, Runtime.getRuntime().availableProcessors());
  }

  /**
   * Loads a checkpoint into the live state, reading up to {@code ioThreads} files at once and
   * checking every file against the manifest (size and checksum); a mismatch fails the restore. A
   * checkpoint written by another number of ranks is resharded: all its shards are read and
   * reassembled. Restores the CPU generator state last.
   */
  public static Restored restore(
      Path stepDir,
      Manifest manifest,
      Map<String, Tensor> parameters,
      AdamW optimizer,
      int rank,
      int worldSize,
      int ioThreads) {
    var savedWorld = manifest.worldSize();
    if (savedWorld < 1) {
      throw new CheckpointException(stepDir + ": the manifest has world_size " + savedWorld);
    }
    var component = manifest.components().get(RunLayout.TRAINER);
    if (component == null) {
      throw new CheckpointException(stepDir + " has no trainer component");
    }
    try {
      var model = new TreeMap<String, Tensor>();
      var optim = new TreeMap<String, Tensor>();
      // Every shard is read straight into the live tensors it holds (when they are CPU tensors of
      // the same shape), model and optimizer files in parallel; a file that fails its checksum
      // fails the restore, and the caller never trains on the partly loaded state.
      var optimState = optimizer.state();
      var reads = new ArrayList<java.util.concurrent.Callable<Map<String, Tensor>>>();
      for (var r = 0; r < savedWorld; r++) {
        var modelShard = shard("model", r, savedWorld);
        var optimShard = shard("optimizer", r, savedWorld);
        reads.add(() -> readTensors(stepDir, component, modelShard, parameters));
        reads.add(() -> readTensors(stepDir, component, optimShard, optimState));
      }
      var shards = ParallelIo.run(reads, ioThreads, "checkpoint-load");
      for (var r = 0; r < savedWorld; r++) {
        putDisjoint(stepDir, model, shards.get(2 * r));
        putDisjoint(stepDir, optim, shards.get(2 * r + 1));
      }
      var progress =
          JSON.readValue(readVerified(stepDir, component, RunLayout.PROGRESS), Progress.class);
      // At another world size the data position follows from the step alone (global batches);
      // the generator state is the same on every rank, so rank 0's serves for new ranks.
      var stateRank = rank < savedWorld ? rank : 0;
      var rankState =
          JSON.readTree(
              readVerified(stepDir, component, RunLayout.rankStateFile(stateRank, savedWorld)));
      if (!model.keySet().equals(parameters.keySet())) {
        throw new CheckpointException(
            stepDir
                + ": model tensors "
                + model.keySet()
                + " do not match this model's parameters "
                + parameters.keySet());
      }
      for (var e : parameters.entrySet()) {
        AdamW.copyInto(e.getValue(), model.get(e.getKey()), e.getKey());
      }
      optimizer.load(optim, rankState.path("optimizer_step").asLong(progress.step()));
      var rng = rankState.path("rng").path("cpu_generator_state").asText("");
      if (!rng.isEmpty()) {
        setGeneratorState(Base64.getDecoder().decode(rng));
      }
      return new Restored(progress, rankState);
    } catch (IllegalArgumentException e) {
      throw new CheckpointException(stepDir + ": " + e.getMessage(), e);
    } catch (IOException e) {
      throw new CheckpointException(stepDir + ": cannot load: " + e.getMessage(), e);
    }
  }

  private static String shard(String kind, int rank, int worldSize) {
    return RunLayout.shardFile(kind, rank, worldSize);
  }

  private static void putDisjoint(
      Path stepDir, Map<String, Tensor> into, Map<String, Tensor> shard) {
    for (var e : shard.entrySet()) {
      if (into.put(e.getKey(), e.getValue()) != null) {
        throw new CheckpointException(
            stepDir + ": tensor " + e.getKey() + " is in more than one shard: corrupt");
      }
    }
  }

  private static Map<String, Tensor> readTensors(
      Path stepDir, Manifest.Component trainer, String name, Map<String, Tensor> targets)
      throws IOException {
    var listing = stepDir.resolve(RunLayout.MANIFEST);
    var entry = VerifiedFiles.entry(trainer.files(), RunLayout.TRAINER + "/" + name, listing);
    return VerifiedFiles.readTensorsInto(stepDir.resolve(entry.path()), entry, listing, targets)
        .tensors();
  }

  private static byte[] readVerified(Path stepDir, Manifest.Component trainer, String name)
      throws IOException {
    var listing = stepDir.resolve(RunLayout.MANIFEST);
    var entry = VerifiedFiles.entry(trainer.files(), RunLayout.TRAINER + "/" + name, listing);
    return VerifiedFiles.readBytes(stepDir.resolve(entry.path()), entry, listing);
  }

  private static Tensor hostCopy(Tensor t) {
    var copy = t.detach().to(new org.bytedeco.pytorch.Device("cpu"), t.scalar_type()).clone();
    return copy.contiguous();
  }

  static String generatorState() {
    var state = torch.getDefaultCPUGenerator().get_state().contiguous();
    var bytes = new byte[(int) state.nbytes()];
    new BytePointer(state.data_ptr()).capacity(bytes.length).get(bytes);
    return Base64.getEncoder().encodeToString(bytes);
  }

  static void setGeneratorState(byte[] bytes) {
    var state =
        torch.empty(
            new long[] {bytes.length},
            new org.bytedeco.pytorch.TensorOptions(torch.ScalarType.Byte),
            new org.bytedeco.pytorch.MemoryFormatOptional());
    new BytePointer(state.data_ptr()).capacity(bytes.length).put(bytes);
    torch.getDefaultCPUGenerator().set_state(state);
  }
}
