package dev.stepwise.runtime.checkpoint;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;

/**
 * One step's rollout batch, the orchestrator-to-trainer hand-off: {@code
 * rollouts/step_<n>/rollouts.json}, published atomically. Log-probs are those of the sampling
 * policy (weights of {@code weights_step}, at {@code temperature}). Beside it, {@code
 * progress.json} holds the orchestrator's progress after this step, byte for byte its checkpoint
 * part of the step: a trainer stopped by a signal after step n completes the checkpoint of step n
 * with it, without the orchestrator.
 */
public record Rollouts(
    @JsonProperty("step") long step,
    @JsonProperty("weights_step") long weightsStep,
    @JsonProperty("temperature") double temperature,
    @JsonProperty("samples") List<Sample> samples) {

  public static final String FILE = "rollouts.json";
  private static final ObjectMapper JSON = new ObjectMapper();

  /** One completion of one problem, scored. */
  public record Sample(
      @JsonProperty("problem") String problem,
      @JsonProperty("prompt_ids") long[] promptIds,
      @JsonProperty("completion_ids") long[] completionIds,
      @JsonProperty("completion_logprobs") float[] completionLogProbs,
      @JsonProperty("reward") double reward,
      @JsonProperty("advantage") double advantage) {}

  public void publish(RunLayout layout, Timeline timeline) throws IOException {
    publish(layout, timeline, null);
  }

  /** Publishes the batch with the orchestrator's part of a checkpoint of this step (if given). */
  public void publish(RunLayout layout, Timeline timeline, byte[] orchestratorPart)
      throws IOException {
    var bytes = JSON.writeValueAsBytes(this);
    var files = new LinkedHashMap<String, AtomicFiles.Body>();
    files.put(FILE, AtomicFiles.Body.of(bytes));
    if (orchestratorPart != null) {
      files.put(RunLayout.PROGRESS, AtomicFiles.Body.of(orchestratorPart));
    }
    PublishedDir.publish(layout.rolloutsDir(step), step, timeline, files);
  }

  /**
   * The orchestrator's checkpoint part of a published step ({@code progress.json}), verified, or
   * null when the batch was published without it.
   */
  public static byte[] orchestratorPart(RunLayout layout, PublishedDir.Marker marker)
      throws IOException {
    if (marker.files().stream().noneMatch(f -> f.path().equals(RunLayout.PROGRESS))) {
      return null;
    }
    return PublishedDir.readVerified(layout.rolloutsDir(marker.step()), marker, RunLayout.PROGRESS);
  }

  /** Reads a published batch, verified against its marker. */
  public static Rollouts read(RunLayout layout, PublishedDir.Marker marker) throws IOException {
    var dir = layout.rolloutsDir(marker.step());
    return JSON.readValue(PublishedDir.readVerified(dir, marker, FILE), Rollouts.class);
  }
}
