package dev.stepwise.runtime.checkpoint;

import java.io.IOException;
import java.nio.file.Files;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

/**
 * The trainer-to-inference weight hand-off: {@code weights/step_<n>/model.safetensors}, published
 * atomically with its marker, and loaded (checked against the marker) into a live model.
 */
public final class PolicyWeights {

  public static final String FILE = "model.safetensors";

  private PolicyWeights() {}

  /** Publishes a host copy of {@code parameters} as the weights of {@code step}. */
  public static void publish(
      RunLayout layout, long step, Timeline timeline, Map<String, Tensor> parameters)
      throws IOException {
    var host = new TreeMap<String, Tensor>();
    try (var noGrad = new NoGradGuard()) {
      parameters.forEach(
          (k, v) ->
              host.put(
                  k,
                  v.detach()
                      .to(new org.bytedeco.pytorch.Device("cpu"), v.scalar_type())
                      .clone()
                      .contiguous()));
    }
    var files = new LinkedHashMap<String, AtomicFiles.Body>();
    files.put(FILE, out -> Safetensors.write(out, host, Map.of("step", Long.toString(step))));
    PublishedDir.publish(layout.weightsDir(step), step, timeline, files);
  }

  /**
   * Reads the published weights of {@code step}, verified against their marker, as CPU tensors.
   * Throws a {@link CheckpointException} saying why they cannot be used.
   */
  public static Map<String, Tensor> read(RunLayout layout, long step) {
    var dir = layout.weightsDir(step);
    if (!Files.isDirectory(dir)) {
      throw new CheckpointException(
          "no weights for step " + step + " (" + dir + " does not exist)");
    }
    var marker =
        PublishedDir.marker(dir)
            .orElseThrow(
                () ->
                    new CheckpointException(
                        dir + " has no " + RunLayout.PUBLISHED + ": not (yet) published"));
    var listing = dir.resolve(RunLayout.PUBLISHED);
    try {
      return VerifiedFiles.readTensors(
              dir.resolve(FILE), VerifiedFiles.entry(marker.files(), FILE, listing), listing)
          .tensors();
    } catch (IOException e) {
      throw new CheckpointException(dir + ": cannot read weights: " + e.getMessage(), e);
    }
  }
}
