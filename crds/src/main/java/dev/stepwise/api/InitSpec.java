package dev.stepwise.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Required;

/** Where a run's model starts: the weights of another run's checkpoint (SFT, then RL from it). */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class InitSpec {

  @JsonPropertyDescription(
      "The Checkpoint whose model weights the trainer starts from (--init.checkpoint); its"
          + " optimizer state and progress are not used. It must be Ready before the run starts,"
          + " and it is kept (retention and deletion wait) while this run exists.")
  @Required
  private InitCheckpointSpec checkpoint;

  public InitCheckpointSpec getCheckpoint() {
    return checkpoint;
  }

  public void setCheckpoint(InitCheckpointSpec checkpoint) {
    this.checkpoint = checkpoint;
  }
}
