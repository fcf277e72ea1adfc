package dev.stepwise.runtime.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.stepwise.runtime.checkpoint.AtomicFiles;
import dev.stepwise.runtime.checkpoint.Safetensors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Hugging Face model directories in and out: {@code config.json} plus {@code model.safetensors} or
 * {@code model.safetensors.index.json} and its shards, with HF parameter names. Tensors are read
 * straight into tensor memory (the safetensors reader fills each tensor's buffer from the file
 * channel); errors name the file and the tensor.
 */
public final class HfWeights {

  public static final String SINGLE = "model.safetensors";
  public static final String INDEX = "model.safetensors.index.json";

  /** Files besides the weights that a model directory carries along (tokenizer and templates). */
  public static final List<String> SIDE_FILES =
      List.of(
          "tokenizer.json",
          "tokenizer_config.json",
          "special_tokens_map.json",
          "generation_config.json",
          "chat_template.jinja");

  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private HfWeights() {}

  /** Whether {@code dir} holds weights (a single file or a shard index). */
  public static boolean hasWeights(Path dir) {
    return Files.isRegularFile(dir.resolve(SINGLE)) || Files.isRegularFile(dir.resolve(INDEX));
  }

  /**
   * The model of {@code dir} on {@code device}: its weights when it has some, else (only when
   * {@code randomInit}) fresh weights from {@code seed}.
   */
  public static HfDecoder load(Path dir, Device device, long seed, boolean randomInit) {
    var config = HfConfig.read(dir);
    var model = new HfDecoder(config, device, seed);
    if (hasWeights(dir)) {
      copyInto(model, read(dir), dir.toString());
    } else if (!randomInit) {
      throw new ModelException(
          dir
              + ": no "
              + SINGLE
              + " or "
              + INDEX
              + " (set model.random-init = true to start from random weights)");
    }
    return model;
  }

  /** Every tensor of the weights of {@code dir} (CPU, as stored), by HF name. */
  public static Map<String, Tensor> read(Path dir) {
    var index = dir.resolve(INDEX);
    var files = new ArrayList<Path>();
    Map<String, String> weightMap = null;
    if (Files.isRegularFile(index)) {
      weightMap = new TreeMap<>();
      try {
        var node = JSON.readTree(index.toFile()).get("weight_map");
        if (node == null || !node.isObject()) {
          throw new ModelException(index + ": weight_map is missing or not an object");
        }
        for (var it = node.fields(); it.hasNext(); ) {
          var e = it.next();
          weightMap.put(e.getKey(), e.getValue().asText());
        }
      } catch (IOException e) {
        throw new ModelException(index + ": cannot read: " + e.getMessage(), e);
      }
      for (var name : new TreeSet<>(weightMap.values())) {
        files.add(dir.resolve(name));
      }
    } else {
      files.add(dir.resolve(SINGLE));
    }
    var tensors = new LinkedHashMap<String, Tensor>();
    for (var file : files) {
      Map<String, Tensor> contents;
      try {
        contents = Safetensors.read(file, null).tensors();
      } catch (IOException e) {
        throw new ModelException(file + ": cannot read: " + e.getMessage(), e);
      }
      for (var e : contents.entrySet()) {
        if (weightMap != null && !file.getFileName().toString().equals(weightMap.get(e.getKey()))) {
          throw new ModelException(
              file + ": tensor " + e.getKey() + " is not mapped to this file by " + index);
        }
        if (tensors.put(e.getKey(), e.getValue()) != null) {
          throw new ModelException(file + ": tensor " + e.getKey() + " appears twice");
        }
      }
    }
    if (weightMap != null) {
      for (var e : weightMap.entrySet()) {
        if (!tensors.containsKey(e.getKey())) {
          throw new ModelException(
              dir.resolve(e.getValue()) + ": missing tensor " + e.getKey() + " listed in " + index);
        }
      }
    }
    return tensors;
  }

  /**
   * Fails unless tensor {@code name} of {@code where} has the shape {@code want} that {@code
   * source} implies.
   */
  static void checkShape(String where, String name, Tensor tensor, long[] want, String source) {
    var shape = tensor.sizes().vec().get();
    if (!Arrays.equals(shape, want)) {
      throw new ModelException(
          where
              + ": tensor "
              + name
              + " has shape "
              + Arrays.toString(shape)
              + ", "
              + source
              + " implies "
              + Arrays.toString(want));
    }
  }

  /**
   * Copies {@code source} into the model's parameters (converted to fp32) after checking that every
   * parameter is present with its shape; a tied model ignores a stored {@code lm_head}.
   */
  public static void copyInto(HfDecoder model, Map<String, Tensor> source, String where) {
    var target = model.parameters();
    for (var e : target.entrySet()) {
      var got = source.get(e.getKey());
      if (got == null) {
        throw new ModelException(where + ": missing tensor " + e.getKey());
      }
      checkShape(where, e.getKey(), got, e.getValue().sizes().vec().get(), "config.json");
    }
    for (var name : source.keySet()) {
      var ignorable = name.equals(HfDecoder.LM_HEAD) || name.endsWith("rotary_emb.inv_freq");
      if (!target.containsKey(name) && !ignorable) {
        throw new ModelException(where + ": unexpected tensor " + name + " (not in this model)");
      }
    }
    try (var noGrad = new NoGradGuard()) {
      for (var e : target.entrySet()) {
        e.getValue().copy_(source.get(e.getKey()).to(torch.ScalarType.Float));
      }
    }
  }

  /**
   * Writes an HF model directory: {@code config} as {@code config.json} and {@code tensors} (CPU)
   * as {@code model.safetensors}, or as shards of at most {@code maxShardBytes} with an index when
   * they do not fit one; every file written atomically.
   */
  public static void write(
      Path out, ObjectNode config, SortedMap<String, Tensor> tensors, long maxShardBytes)
      throws IOException {
    Files.createDirectories(out);
    var shards = new ArrayList<SortedMap<String, Tensor>>();
    var current = new TreeMap<String, Tensor>();
    long size = 0;
    long total = 0;
    for (var e : tensors.entrySet()) {
      var t = e.getValue().contiguous();
      if (!current.isEmpty() && size + t.nbytes() > maxShardBytes) {
        shards.add(current);
        current = new TreeMap<>();
        size = 0;
      }
      current.put(e.getKey(), t);
      size += t.nbytes();
      total += t.nbytes();
    }
    shards.add(current);
    var meta = Map.of("format", "pt");
    if (shards.size() == 1) {
      var only = shards.get(0);
      AtomicFiles.write(out.resolve(SINGLE), ch -> Safetensors.write(ch, only, meta));
    } else {
      var weightMap = new TreeMap<String, String>();
      for (var i = 0; i < shards.size(); i++) {
        var name = String.format("model-%05d-of-%05d.safetensors", i + 1, shards.size());
        var shard = shards.get(i);
        AtomicFiles.write(out.resolve(name), ch -> Safetensors.write(ch, shard, meta));
        for (var key : shards.get(i).keySet()) {
          weightMap.put(key, name);
        }
      }
      var index = new LinkedHashMap<String, Object>();
      index.put("metadata", Map.of("total_size", total));
      index.put("weight_map", weightMap);
      AtomicFiles.write(out.resolve(INDEX), JSON.writeValueAsBytes(index));
    }
    AtomicFiles.write(out.resolve(HfConfig.FILE), JSON.writeValueAsBytes(config));
  }

  /** Copies the tokenizer and template files of {@code from} that exist into {@code to}. */
  public static void copySideFiles(Path from, Path to) throws IOException {
    for (var name : SIDE_FILES) {
      var source = from.resolve(name);
      if (Files.isRegularFile(source)) {
        Files.copy(source, to.resolve(name), StandardCopyOption.REPLACE_EXISTING);
      }
    }
  }
}
