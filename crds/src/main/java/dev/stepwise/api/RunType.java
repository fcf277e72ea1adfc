package dev.stepwise.api;

import com.fasterxml.jackson.annotation.JsonProperty;

/** The kind of training a {@link TrainingRun} performs. */
public enum RunType {
  /** Supervised fine-tuning: one trainer role. */
  @JsonProperty("sft")
  SFT("sft"),
  /** Reinforcement learning: trainer, orchestrator and inference roles. */
  @JsonProperty("rl")
  RL("rl");

  private final String value;

  RunType(String value) {
    this.value = value;
  }

  /** The value as written in the spec and as the runtime's subcommand names it. */
  public String value() {
    return value;
  }
}
