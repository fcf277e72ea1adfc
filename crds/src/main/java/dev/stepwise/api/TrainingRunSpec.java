package dev.stepwise.api;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.ValidationRule;

/** What a user asks for: one training run, its roles, its checkpoints and its storage. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(
    value = "self.type == 'rl' || (!has(self.orchestrator) && !has(self.inference))",
    message = "orchestrator and inference are only used by rl runs: remove them, or set type: rl")
@ValidationRule(
    value = "!has(self.resumeStep) || self.resumeStep < self.maxSteps",
    message = "resumeStep must be below maxSteps: raise maxSteps to train past the checkpoint")
@ValidationRule(
    value = "!has(self.resumeNonce) || has(self.resumeStep)",
    message = "resumeNonce repeats the resume to resumeStep: set resumeStep too")
@ValidationRule(
    value = "has(self.init) == has(oldSelf.init) && (!has(self.init) || self.init == oldSelf.init)",
    message =
        "init cannot be added, changed or removed after creation: it decides only how a new run's"
            + " model starts; create a new TrainingRun to start from another checkpoint")
public class TrainingRunSpec {

  public static final String DEFAULT_IMAGE = "ghcr.io/stepwise-dev/stepwise-runtime:0.1.0";

  @JsonPropertyDescription(
      "Kind of training: sft (a trainer alone) or rl (trainer, orchestrator and inference)."
          + " Cannot be changed after creation.")
  @Required
  @ValidationRule(
      value = "self == oldSelf",
      message = "type cannot change after creation: create a new TrainingRun instead")
  private RunType type;

  @JsonPropertyDescription(
      "Container image of the Stepwise runtime that every pod of the run runs.")
  @Default(DEFAULT_IMAGE)
  private String image = DEFAULT_IMAGE;

  @JsonPropertyDescription(
      "Train until this step (--max-steps). Raise it to continue a finished run from its latest"
          + " checkpoint.")
  @Required
  @Min(1)
  private Long maxSteps;

  @JsonPropertyDescription(
      "Checkpointing (--ckpt.*). When unset, nothing is checkpointed and the run cannot resume.")
  private CkptSpec ckpt;

  @JsonPropertyDescription(
      "Seconds between two writes of status.progress by the trainer (step, tokens/s, ETA, latest"
          + " loss or reward, disk use); nothing is written while nothing changes. 0 turns live"
          + " progress off (--progress.interval). Default 30.")
  @Min(0)
  private Integer progressIntervalSeconds;

  @JsonPropertyDescription(
      "Resume from the checkpoint of this step (--ckpt.resume-step). Patch it to resume a stopped"
          + " run or to roll back to an earlier checkpoint: the trainer and orchestrator restart"
          + " from that step and inference keeps running. Setting it to the step the run already"
          + " resumed from changes nothing; to resume from that step again (discarding what was"
          + " trained since), also set resumeNonce to a new value.")
  @Min(0)
  private Long resumeStep;

  @JsonPropertyDescription(
      "Change it to any new value to resume from resumeStep once more, even when resumeStep is"
          + " the step the run already resumed from, e.g. kubectl patch trainingrun r --type merge"
          + " -p '{\"spec\":{\"resumeStep\":10,\"resumeNonce\":2}}'. Requires resumeStep.")
  private Long resumeNonce;

  @JsonPropertyDescription(
      "Scale every workload of the run to zero. The run directory and its checkpoints stay.")
  @Default("false")
  private Boolean suspend = false;

  @JsonPropertyDescription(
      "The run directory volume, mounted in every pod at /var/lib/stepwise/run. Cannot be changed"
          + " after creation.")
  @ValidationRule(
      value = "self == oldSelf",
      message = "storage cannot change after creation: the run directory would be lost")
  private StorageSpec storage = new StorageSpec();

  @JsonPropertyDescription(
      "Start the model from another run's checkpoint instead of random weights, e.g. RL from an"
          + " SFT run: init: {checkpoint: {trainingRun: reverse-text, step: 600}}. Only a fresh"
          + " start reads it (resumes and crash recovery load this run's own checkpoints). Works for"
          + " rl and sft runs. Cannot be changed after creation.")
  private InitSpec init;

  @JsonPropertyDescription("The trainer role: ranks, GPUs, resources and TOML configuration.")
  private TrainerSpec trainer = new TrainerSpec();

  @JsonPropertyDescription("The orchestrator role of an rl run. Not allowed when type is sft.")
  private OrchestratorSpec orchestrator;

  @JsonPropertyDescription("The inference role of an rl run. Not allowed when type is sft.")
  private InferenceSpec inference;

  public RunType getType() {
    return type;
  }

  public void setType(RunType type) {
    this.type = type;
  }

  public String getImage() {
    return image;
  }

  public void setImage(String image) {
    this.image = image;
  }

  public Long getMaxSteps() {
    return maxSteps;
  }

  public void setMaxSteps(Long maxSteps) {
    this.maxSteps = maxSteps;
  }

  public CkptSpec getCkpt() {
    return ckpt;
  }

  public void setCkpt(CkptSpec ckpt) {
    this.ckpt = ckpt;
  }

  public Integer getProgressIntervalSeconds() {
    return progressIntervalSeconds;
  }

  public void setProgressIntervalSeconds(Integer progressIntervalSeconds) {
    this.progressIntervalSeconds = progressIntervalSeconds;
  }

  /** {@link #getProgressIntervalSeconds()} or its default, 30. */
  @JsonIgnore
  public int progressIntervalOrDefault() {
    return progressIntervalSeconds == null ? 30 : progressIntervalSeconds;
  }

  public Long getResumeStep() {
    return resumeStep;
  }

  public void setResumeStep(Long resumeStep) {
    this.resumeStep = resumeStep;
  }

  public Long getResumeNonce() {
    return resumeNonce;
  }

  public void setResumeNonce(Long resumeNonce) {
    this.resumeNonce = resumeNonce;
  }

  public Boolean getSuspend() {
    return suspend;
  }

  public void setSuspend(Boolean suspend) {
    this.suspend = suspend;
  }

  public StorageSpec getStorage() {
    return storage;
  }

  public void setStorage(StorageSpec storage) {
    this.storage = storage;
  }

  public InitSpec getInit() {
    return init;
  }

  public void setInit(InitSpec init) {
    this.init = init;
  }

  public TrainerSpec getTrainer() {
    return trainer;
  }

  public void setTrainer(TrainerSpec trainer) {
    this.trainer = trainer;
  }

  public OrchestratorSpec getOrchestrator() {
    return orchestrator;
  }

  public void setOrchestrator(OrchestratorSpec orchestrator) {
    this.orchestrator = orchestrator;
  }

  public InferenceSpec getInference() {
    return inference;
  }

  public void setInference(InferenceSpec inference) {
    this.inference = inference;
  }

  /** True when the run should have no running pods. */
  @JsonIgnore
  public boolean isSuspended() {
    return Boolean.TRUE.equals(suspend);
  }
}
