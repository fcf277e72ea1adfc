package dev.stepwise.runtime.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import dev.stepwise.runtime.checkpoint.CheckpointException;
import dev.stepwise.runtime.checkpoint.ModelWeights;
import dev.stepwise.runtime.checkpoint.RunLayout;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * {@code stepwise checkpoint export --format hf}: the model weights of a complete trainer
 * checkpoint (all shards, verified against the manifest) written as a Hugging Face model directory
 * ({@code config.json}, safetensors with HF names, the tokenizer files) that {@code transformers}
 * and vLLM load. The architecture comes from the {@code model.hf} directory the run trained from
 * (read from the checkpoint's {@code config.toml}) or from an explicit model directory.
 */
public final class HfExport {

  /** Largest safetensors file before the export shards (as HF's default does). */
  public static final long DEFAULT_MAX_SHARD_BYTES = 5L << 30;

  private static final String CONFIG_TOML = "config.toml";

  private HfExport() {}

  /** What was written. */
  public record Result(Path out, HfConfig config, int tensors, long bytes) {}

  /**
   * Exports {@code stepDir} to {@code out}; {@code modelDir} (may be null) overrides the model
   * directory named by the checkpoint's config.
   */
  public static Result export(Path stepDir, Path out, Path modelDir, long maxShardBytes) {
    var source = modelDir != null ? modelDir : trainedFrom(stepDir);
    var config = HfConfig.read(source);
    Map<String, Tensor> tensors;
    try {
      tensors = ModelWeights.readCheckpointModel(stepDir);
    } catch (CheckpointException e) {
      throw new ModelException("checkpoint export: " + e.getMessage(), e);
    }
    var shapes = new TreeMap<String, long[]>();
    for (var spec : HfDecoder.parameterShapes(config)) {
      shapes.put(spec.name(), spec.shape());
    }
    var where = stepDir + " (model shards)";
    for (var e : shapes.entrySet()) {
      var t = tensors.get(e.getKey());
      if (t == null) {
        throw new ModelException(
            where + ": missing tensor " + e.getKey() + " that " + source + " implies");
      }
      HfWeights.checkShape(where, e.getKey(), t, e.getValue(), source.toString());
    }
    for (var name : tensors.keySet()) {
      if (!shapes.containsKey(name)) {
        throw new ModelException(
            where + ": tensor " + name + " is not part of the model " + source + " describes");
      }
    }
    var json = config.json().deepCopy();
    json.put("torch_dtype", "float32");
    json.put("dtype", "float32");
    var sorted = new TreeMap<String, Tensor>();
    long bytes = 0;
    for (var name : shapes.keySet()) {
      var t = tensors.get(name).to(torch.ScalarType.Float).contiguous();
      sorted.put(name, t);
      bytes += t.nbytes();
    }
    try {
      HfWeights.write(out, json, sorted, maxShardBytes);
      if (Files.isDirectory(source)) {
        HfWeights.copySideFiles(source, out);
      }
    } catch (IOException e) {
      throw new ModelException(out + ": cannot write the export: " + e.getMessage(), e);
    }
    return new Result(out, config, sorted.size(), bytes);
  }

  /** The {@code model.hf} directory of the run that wrote {@code stepDir}. */
  static Path trainedFrom(Path stepDir) {
    var file = stepDir.resolve(RunLayout.TRAINER).resolve(CONFIG_TOML);
    JsonNode toml;
    try {
      toml = new TomlMapper().readTree(file.toFile());
    } catch (IOException e) {
      throw new ModelException(
          file + ": cannot read the run's config (is " + stepDir + " a trainer checkpoint?)", e);
    }
    var hf = toml.path("model").path("hf");
    if (!hf.isTextual()) {
      throw new ModelException(
          file
              + ": model.hf is not set: this checkpoint is of the byte-level model, which has no"
              + " Hugging Face architecture to export to");
    }
    var dir = Path.of(hf.asText());
    if (!Files.isRegularFile(dir.resolve(HfConfig.FILE))) {
      throw new ModelException(
          file
              + ": model.hf = "
              + dir
              + " has no "
              + HfConfig.FILE
              + " here; pass the model directory with --model DIR");
    }
    return dir;
  }
}
