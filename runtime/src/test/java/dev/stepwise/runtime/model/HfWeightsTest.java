package dev.stepwise.runtime.model;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.stepwise.runtime.checkpoint.Safetensors;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.TreeMap;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad model directories fail with the file and the key or tensor named. */
class HfWeightsTest {

  static final Path QWEN3 = HfParityTest.FIXTURES.resolve("qwen3");
  static final ObjectMapper JSON = new ObjectMapper();

  static ObjectNode config() throws Exception {
    return (ObjectNode) JSON.readTree(QWEN3.resolve("config.json").toFile());
  }

  static ModelException loadFails(Path dir) {
    return assertThrows(
        ModelException.class, () -> HfWeights.load(dir, new Device("cpu"), 0, false));
  }

  @Test
  void badConfigNamesFileAndKey(@TempDir Path tmp) throws Exception {
    var config = config();
    config.put("num_key_value_heads", 3);
    JSON.writeValue(tmp.resolve("config.json").toFile(), config);
    var e = loadFails(tmp);
    assertTrue(e.getMessage().contains(tmp.resolve("config.json").toString()), e.getMessage());
    assertTrue(e.getMessage().contains("num_key_value_heads"), e.getMessage());

    config = config();
    config.remove("hidden_size");
    JSON.writeValue(tmp.resolve("config.json").toFile(), config);
    assertTrue(loadFails(tmp).getMessage().contains("hidden_size"));

    config = config();
    config.put("model_type", "gpt2");
    JSON.writeValue(tmp.resolve("config.json").toFile(), config);
    assertTrue(loadFails(tmp).getMessage().contains("model_type 'gpt2'"));

    Files.writeString(tmp.resolve("config.json"), "{not json");
    assertTrue(loadFails(tmp).getMessage().contains("config.json"));
  }

  @Test
  void missingWeightsAreRefusedUnlessRandomInitIsAsked(@TempDir Path tmp) throws Exception {
    JSON.writeValue(tmp.resolve("config.json").toFile(), config());
    assertTrue(loadFails(tmp).getMessage().contains("model.safetensors"));
    var model = HfWeights.load(tmp, new Device("cpu"), 3, true);
    assertTrue(model.parameterCount() > 0);
  }

  @Test
  void missingTensorAndShapeMismatchNameTheTensor(@TempDir Path tmp) throws Exception {
    JSON.writeValue(tmp.resolve("config.json").toFile(), config());
    var tensors = new TreeMap<String, Tensor>(HfWeights.read(QWEN3));
    tensors.remove("model.norm.weight");
    writeSingle(tmp, tensors);
    var e = loadFails(tmp);
    assertTrue(e.getMessage().contains("missing tensor model.norm.weight"), e.getMessage());

    tensors.put("model.norm.weight", torch.ones(63));
    writeSingle(tmp, tensors);
    e = loadFails(tmp);
    assertTrue(e.getMessage().contains("model.norm.weight has shape [63]"), e.getMessage());

    tensors.put("model.norm.weight", torch.ones(64));
    tensors.put("model.extra.weight", torch.ones(2));
    writeSingle(tmp, tensors);
    e = loadFails(tmp);
    assertTrue(e.getMessage().contains("unexpected tensor model.extra.weight"), e.getMessage());
  }

  @Test
  void bf16WeightsLoadIntoFp32Parameters(@TempDir Path tmp) throws Exception {
    JSON.writeValue(tmp.resolve("config.json").toFile(), config());
    var bf16 = new TreeMap<String, Tensor>();
    for (var e : HfWeights.read(QWEN3).entrySet()) {
      bf16.put(e.getKey(), e.getValue().to(torch.ScalarType.BFloat16).contiguous());
    }
    writeSingle(tmp, bf16);
    var cpu = new Device("cpu");
    var model = HfWeights.load(tmp, cpu, 0, false);
    var weight = model.parameters().get("model.layers.0.mlp.up_proj.weight");
    assertTrue(weight.scalar_type().intern() == torch.ScalarType.Float, "fp32 master weights");
    var want = bf16.get("model.layers.0.mlp.up_proj.weight").to(torch.ScalarType.Float);
    assertTrue(weight.equal(want), "bf16 values carried exactly into fp32");
  }

  @Test
  void shardIndexPointingAtAMissingTensorNamesIt(@TempDir Path tmp) throws Exception {
    var llama = HfParityTest.FIXTURES.resolve("llama");
    for (var f : Files.list(llama).toList()) {
      Files.copy(f, tmp.resolve(f.getFileName()));
    }
    var index = (ObjectNode) JSON.readTree(tmp.resolve(HfWeights.INDEX).toFile());
    ((ObjectNode) index.get("weight_map"))
        .put("model.layers.9.mlp.up_proj.weight", "model-00001-of-00005.safetensors");
    JSON.writeValue(tmp.resolve(HfWeights.INDEX).toFile(), index);
    var e = loadFails(tmp);
    assertTrue(e.getMessage().contains("model.layers.9.mlp.up_proj.weight"), e.getMessage());
  }

  static void writeSingle(Path dir, TreeMap<String, Tensor> tensors) throws Exception {
    try (var ch =
        java.nio.channels.FileChannel.open(
            dir.resolve(HfWeights.SINGLE),
            java.nio.file.StandardOpenOption.CREATE,
            java.nio.file.StandardOpenOption.WRITE,
            java.nio.file.StandardOpenOption.TRUNCATE_EXISTING)) {
      Safetensors.write(ch, tensors, java.util.Map.of());
    }
  }
}
