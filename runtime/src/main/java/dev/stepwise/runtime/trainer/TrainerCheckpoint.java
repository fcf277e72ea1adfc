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
      var model = new TreeMap<String, Tensor>();
      parameters.forEach((k, v) -> model.put(k, hostCopy(v)));
      var optim = new TreeMap<String, Tensor>();
      optimizer.state().forEach((k, v) -> optim.put(k, hostCopy(v)));
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
        json.put(PROGRESS, JSON.writeValueAsBytes(progress));
        json.put(SCHEDULER, JSON.writeValueAsBytes(scheduler));
        json.put(RunLayout.rankStateFile(rank, worldSize), JSON.writeValueAsBytes(state));
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
      json.put(CONFIG, configToml.getBytes(java.nio.charset.StandardCharsets.UTF_8));
      return new Snapshot(progress.step(), rank, worldSize, model, optim, json);
    }
  }

  /**
   * Loads {@code trainerDir} into the live state after checking every file against the manifest
   * (size and SHA-256). Restores the CPU generator state last.
   */
  public static Restored restore(
      Path stepDir,
      Manifest manifest,
      Map<String, Tensor> parameters,
      AdamW optimizer,
      int rank,
      int worldSize) {
    if (manifest.worldSize() != worldSize) {
      throw new CheckpointException(
          stepDir
              + " was written by "
              + manifest.worldSize()
              + " ranks; resharding to "
              + worldSize
              + " is not supported yet");
    }
    var component = manifest.components().get(RunLayout.TRAINER);
    if (component == null) {
      throw new CheckpointException(stepDir + " has no trainer component");
    }
    var expected = new TreeMap<String, Manifest.FileEntry>();
    component.files().forEach(f -> expected.put(f.path(), f));
    try {
      var model = readTensors(stepDir, expected, RunLayout.shardFile("model", rank, worldSize));
      var optim = readTensors(stepDir, expected, RunLayout.shardFile("optimizer", rank, worldSize));
      var progress = JSON.readValue(readVerified(stepDir, expected, PROGRESS), Progress.class);
      var rankState =
          JSON.readTree(readVerified(stepDir, expected, RunLayout.rankStateFile(rank, worldSize)));
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
