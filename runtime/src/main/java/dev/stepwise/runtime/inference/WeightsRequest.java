package dev.stepwise.runtime.inference;

import com.fasterxml.jackson.databind.JsonNode;
import dev.stepwise.runtime.checkpoint.RunLayout;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The body of {@code POST /update_weights}, in any of the shapes RL orchestrators send: ours {@code
 * {"step": n}}, prime-rl's {@code {"weight_dir": "<run>/weights/step_<n>"}} and SGLang's {@code
 * {"model_path": "<run>/weights/step_<n>"}} (other keys, such as SGLang's {@code load_format}, are
 * ignored). A directory must be a {@code weights/step_<n>} of the run this server serves (relative
 * paths are resolved against the server's working directory); anything else is refused with a 400
 * naming the field.
 *
 * @param step the step whose published weights to load
 * @param field the key the request named it by, for the errors that follow
 */
record WeightsRequest(long step, String field) {

  static final String STEP = "step";
  static final String WEIGHT_DIR = "weight_dir";
  static final String MODEL_PATH = "model_path";

  static WeightsRequest parse(JsonNode body, RunLayout layout) {
    if (body == null || !body.isObject()) {
      throw new BadRequest(400, null, "the request body must be a JSON object");
    }
    var given = new ArrayList<String>();
    for (var key : List.of(STEP, WEIGHT_DIR, MODEL_PATH)) {
      if (body.has(key)) {
        given.add(key);
      }
    }
    if (given.size() != 1) {
      throw new BadRequest(
          400,
          given.isEmpty() ? STEP : given.get(1),
          "give exactly one of step (a number), weight_dir or model_path (a directory "
              + layout.weightsRoot()
              + "/step_<n>)"
              + (given.isEmpty() ? "" : "; got " + String.join(", ", given)));
    }
    var field = given.get(0);
    var value = body.get(field);
    if (field.equals(STEP)) {
      if (!value.isIntegralNumber() || value.asLong() < 0) {
        throw new BadRequest(400, STEP, "step must be a non-negative integer");
      }
      return new WeightsRequest(value.asLong(), STEP);
    }
    if (!value.isTextual() || value.asText().isBlank()) {
      throw new BadRequest(400, field, field + " must be a directory path (a string)");
    }
    return new WeightsRequest(stepOf(value.asText(), field, layout), field);
  }

  /** The step of {@code dir} when it is {@code <run>/weights/step_<n>}. */
  private static long stepOf(String dir, String field, RunLayout layout) {
    Path path;
    try {
      path = Path.of(dir);
    } catch (InvalidPathException e) {
      throw new BadRequest(400, field, field + " is not a path: '" + dir + "'");
    }
    var absolute = path.toAbsolutePath().normalize();
    var name = absolute.getFileName();
    var step = name == null ? null : RunLayout.parseStep(name.toString());
    var parent = absolute.getParent();
    if (step == null
        || step.isEmpty()
        || parent == null
        || !canonical(layout.weightsRoot()).equals(canonical(parent))) {
      throw new BadRequest(
          400,
          field,
          field
              + " must be a published weights directory of this server's run, "
              + layout.weightsRoot().toAbsolutePath().normalize()
              + "/step_<n>; got '"
              + dir
              + "'");
    }
    return step.getAsLong();
  }

  /** Absolute and normalized; symbolic links resolved where the path exists. */
  private static Path canonical(Path path) {
    var absolute = path.toAbsolutePath().normalize();
    try {
      return Files.exists(absolute) ? absolute.toRealPath() : absolute;
    } catch (IOException e) {
      return absolute;
    }
  }
}
