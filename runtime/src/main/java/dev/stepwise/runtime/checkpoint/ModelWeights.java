package dev.stepwise.runtime.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

/**
 * Model weights moved in and out of a live model outside a resume: a run initialised from another
 * run's checkpoint ({@code init.checkpoint}: model weights only, the optimizer starts fresh), and
 * weights loaded into a model with every shape checked first.
 */
public final class ModelWeights {

  private static final ObjectMapper JSON = new ObjectMapper();

  private ModelWeights() {}

  /**
   * Initialises {@code parameters} from the model shards of complete checkpoint {@code stepDir}
   * (any world size), each file verified against the manifest; errors name {@code init.checkpoint}.
   */
  public static void initFrom(Path stepDir, Map<String, Tensor> parameters) {
    copyInto(parameters, readCheckpointModel(stepDir), "init.checkpoint " + stepDir);
  }

  /** The model tensors of a complete checkpoint step directory (all shards), verified. */
  public static Map<String, Tensor> readCheckpointModel(Path stepDir) {
    Manifest manifest;
    try {
      manifest = JSON.readValue(stepDir.resolve(RunLayout.MANIFEST).toFile(), Manifest.class);
    } catch (IOException e) {
      throw new CheckpointException(
          "init.checkpoint: "
              + stepDir
              + " is not a complete checkpoint (no readable "
              + RunLayout.MANIFEST
              + ")");
    }
    var trainer = manifest.components().get(RunLayout.TRAINER);
    if (trainer == null) {
      throw new CheckpointException("init.checkpoint: " + stepDir + " has no trainer part");
    }
    var tensors = new TreeMap<String, Tensor>();
    for (var file : trainer.files()) {
      var name = Path.of(file.path()).getFileName().toString();
      if (!RunLayout.isShardFile("model", name)) {
        continue;
      }
      Map<String, Tensor> shard;
      try {
        shard =
            VerifiedFiles.readTensors(
                    stepDir.resolve(file.path()), file, stepDir.resolve(RunLayout.MANIFEST))
                .tensors();
      } catch (IOException e) {
        throw new CheckpointException("init.checkpoint: cannot read " + file.path() + ": " + e, e);
      }
      for (var e : shard.entrySet()) {
        if (tensors.put(e.getKey(), e.getValue()) != null) {
          throw new CheckpointException(
              "init.checkpoint: "
                  + stepDir
                  + ": tensor "
                  + e.getKey()
                  + " is in more than one shard: corrupt");
        }
      }
    }
    if (tensors.isEmpty()) {
      throw new CheckpointException("init.checkpoint: " + stepDir + " holds no model shard");
    }
    return tensors;
  }

  /** Copies {@code source} into the live {@code target} parameters, all shapes checked first. */
  public static void copyInto(Map<String, Tensor> target, Map<String, Tensor> source, String what) {
    if (!source.keySet().equals(target.keySet())) {
      throw new CheckpointException(
          what + ": tensors " + source.keySet() + " do not match the model's " + target.keySet());
    }
    for (var e : target.entrySet()) {
      var want = e.getValue().sizes().vec().get();
      var got = source.get(e.getKey()).sizes().vec().get();
      if (!Arrays.equals(want, got)) {
        throw new CheckpointException(
            what
                + ": tensor "
                + e.getKey()
                + " has shape "
                + Arrays.toString(got)
                + ", the model expects "
                + Arrays.toString(want)
                + " (check [model])");
      }
    }
    try (var noGrad = new NoGradGuard()) {
      for (var e : target.entrySet()) {
        e.getValue().copy_(source.get(e.getKey()));
      }
    }
  }
}
