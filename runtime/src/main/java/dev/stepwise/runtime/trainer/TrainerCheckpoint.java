package dev.stepwise.runtime.trainer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.stepwise.runtime.checkpoint.AtomicFiles;
import dev.stepwise.runtime.checkpoint.CheckpointException;
import dev.stepwise.runtime.checkpoint.CheckpointWriter.ComponentFile;
import dev.stepwise.runtime.checkpoint.Manifest;
import dev.stepwise.runtime.checkpoint.RunLayout;
import dev.stepwise.runtime.checkpoint.Safetensors;
import dev.stepwise.runtime.dist.ShardPlan;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

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

  public static final String PROGRESS = "progress.json";
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
        files.add(
            new ComponentFile(
                e.getKey(), out -> AtomicFiles.writeFully(out, ByteBuffer.wrap(bytes))));
      }
      return files;
    }
  }

  /** What a restore hands back to the trainer. */
  public record Restored(Progress progress, JsonNode rankState) {}

  private TrainerCheckpoint() {}

  /**
   * Copies the live state to host memory (on the training thread); the snapshot can then be written
   * by another thread while training continues.
   */
  public static Snapshot capture(
      Map<String, Tensor> parameters,
      AdamW optimizer,
      Progress progress,
      LrSchedule schedule,
      Map<String, Object> rankState,
      String configToml,
      int rank,
      int worldSize) {
    try (var noGrad = new NoGradGuard()) {
      var plan = ShardPlan.of(sizes(parameters), worldSize);
      var owned = plan.ownedBy(rank);
      var model = new TreeMap<String, Tensor>();
      parameters.forEach(
          (k, v) -> {
            if (owned.contains(k)) {
              model.put(k, hostCopy(v));
            }
          });
      var optim = new TreeMap<String, Tensor>();
      optimizer
          .state()
          .forEach(
              (k, v) -> {
                if (owned.contains(AdamW.parameterOf(k))) {
                  optim.put(k, hostCopy(v));
                }
              });
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
          json.put(PROGRESS, JSON.writeValueAsBytes(progress));
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

  /**
   * Loads a checkpoint into the live state after checking every file against the manifest (size and
   * SHA-256). A checkpoint written by another number of ranks is resharded: all its shards are read
   * and reassembled. Restores the CPU generator state last.
   */
  public static Restored restore(
      Path stepDir,
      Manifest manifest,
      Map<String, Tensor> parameters,
      AdamW optimizer,
      int rank,
      int worldSize) {
    var savedWorld = manifest.worldSize();
    if (savedWorld < 1) {
      throw new CheckpointException(stepDir + ": the manifest has world_size " + savedWorld);
    }
    var component = manifest.components().get(RunLayout.TRAINER);
    if (component == null) {
      throw new CheckpointException(stepDir + " has no trainer component");
    }
    var expected = new TreeMap<String, Manifest.FileEntry>();
    component.files().forEach(f -> expected.put(f.path(), f));
    try {
      var model = new TreeMap<String, Tensor>();
      var optim = new TreeMap<String, Tensor>();
      for (var r = 0; r < savedWorld; r++) {
        putDisjoint(stepDir, model, readTensors(stepDir, expected, shard("model", r, savedWorld)));
        putDisjoint(
            stepDir, optim, readTensors(stepDir, expected, shard("optimizer", r, savedWorld)));
      }
      var progress = JSON.readValue(readVerified(stepDir, expected, PROGRESS), Progress.class);
      // At another world size the data position follows from the step alone (global batches);
      // the generator state is the same on every rank, so rank 0's serves for new ranks.
      var stateRank = rank < savedWorld ? rank : 0;
      var rankState =
          JSON.readTree(
              readVerified(stepDir, expected, RunLayout.rankStateFile(stateRank, savedWorld)));
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
      Path stepDir, Map<String, Manifest.FileEntry> expected, String name) throws IOException {
    var entry = entry(stepDir, expected, name);
    var digest = AtomicFiles.sha256();
    var contents = Safetensors.read(stepDir.resolve(entry.path()), digest);
    checkDigest(stepDir, entry, HexFormat.of().formatHex(digest.digest()));
    return contents.tensors();
  }

  private static byte[] readVerified(
      Path stepDir, Map<String, Manifest.FileEntry> expected, String name) throws IOException {
    var entry = entry(stepDir, expected, name);
    var bytes = Files.readAllBytes(stepDir.resolve(entry.path()));
    checkDigest(stepDir, entry, HexFormat.of().formatHex(AtomicFiles.sha256().digest(bytes)));
    return bytes;
  }

  private static Manifest.FileEntry entry(
      Path stepDir, Map<String, Manifest.FileEntry> expected, String name) {
    var entry = expected.get(RunLayout.TRAINER + "/" + name);
    if (entry == null) {
      throw new CheckpointException(stepDir + ": the manifest lists no trainer/" + name);
    }
    if (!Files.exists(stepDir.resolve(entry.path()))) {
      throw new CheckpointException(stepDir.resolve(entry.path()) + " is missing: corrupt");
    }
    return entry;
  }

  private static void checkDigest(Path stepDir, Manifest.FileEntry entry, String actual) {
    if (!actual.equals(entry.sha256())) {
      throw new CheckpointException(
          stepDir.resolve(entry.path())
              + " does not match its checksum in the manifest: the checkpoint is corrupt");
    }
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
