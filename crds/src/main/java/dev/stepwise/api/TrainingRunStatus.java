package dev.stepwise.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.crd.generator.annotation.SchemaFrom;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/** What the operator observed of a run. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class TrainingRunStatus {

  @JsonPropertyDescription(
      "Lifecycle phase: Pending, Running, Resuming, Suspended, Succeeded or Failed.")
  private RunPhase phase;

  @JsonPropertyDescription(
      "Training step the run has durably reached: the step of the newest Ready checkpoint of the"
          + " current timeline, else resumedFrom. A crash or restart continues from here.")
  private Long step;

  @JsonPropertyDescription(
      "Step of the newest Ready checkpoint of the current timeline (or resumedFrom when the"
          + " timeline has written none yet).")
  private Long latestCheckpoint;

  @JsonPropertyDescription("Step of the checkpoint the current workloads resumed from, if any.")
  private Long resumedFrom;

  @JsonPropertyDescription(
      "spec.resumeNonce of the resume the current workloads come from: a spec.resumeNonce that"
          + " differs asks for the resume to be done again.")
  private Long resumeNonce;

  @JsonPropertyDescription(
      "Timeline of the run's current history: 0 at creation, raised by each accepted resume."
          + " Recovery after a crash only continues from checkpoints of this timeline (or from"
          + " resumedFrom).")
  private Long timeline;

  @JsonPropertyDescription(
      "How many times a trainer or orchestrator pod recovered from a crash in this run (container"
          + " restarts, and pods lost outside a resume or a scale-down).")
  private Integer restarts;

  @JsonPropertyDescription(
      "Bookkeeping for restarts: the trainer and orchestrator pods seen, with their restart"
          + " counts.")
  private List<ObservedPod> pods = new ArrayList<>();

  @JsonPropertyDescription(
      "Standard conditions: Ready (every workload is up), Progressing (a change is rolling out),"
          + " Degraded (the spec cannot be reconciled; the message names the field).")
  @SchemaFrom(type = ConditionSchema[].class)
  private List<Condition> conditions = new ArrayList<>();

  @JsonPropertyDescription("metadata.generation of the spec this status describes.")
  private Long observedGeneration;

  @JsonPropertyDescription(
      "Live progress between checkpoints (step, tokens/s, ETA, latest loss or reward, disk use),"
          + " written by the run's trainer at most once per interval; the operator never writes it.")
  private RunProgress progress;

  public RunProgress getProgress() {
    return progress;
  }

  public void setProgress(RunProgress progress) {
    this.progress = progress;
  }

  public RunPhase getPhase() {
    return phase;
  }

  public void setPhase(RunPhase phase) {
    this.phase = phase;
  }

  public Long getStep() {
    return step;
  }

  public void setStep(Long step) {
    this.step = step;
  }

  public Long getLatestCheckpoint() {
    return latestCheckpoint;
  }

  public void setLatestCheckpoint(Long latestCheckpoint) {
    this.latestCheckpoint = latestCheckpoint;
  }

  public Long getResumedFrom() {
    return resumedFrom;
  }

  public void setResumedFrom(Long resumedFrom) {
    this.resumedFrom = resumedFrom;
  }

  public Long getResumeNonce() {
    return resumeNonce;
  }

  public void setResumeNonce(Long resumeNonce) {
    this.resumeNonce = resumeNonce;
  }

  public Long getTimeline() {
    return timeline;
  }

  public void setTimeline(Long timeline) {
    this.timeline = timeline;
  }

  public List<ObservedPod> getPods() {
    return pods;
  }

  public void setPods(List<ObservedPod> pods) {
    this.pods = pods;
  }

  public Integer getRestarts() {
    return restarts;
  }

  public void setRestarts(Integer restarts) {
    this.restarts = restarts;
  }

  public List<Condition> getConditions() {
    return conditions;
  }

  public void setConditions(List<Condition> conditions) {
    this.conditions = conditions;
  }

  public Long getObservedGeneration() {
    return observedGeneration;
  }

  public void setObservedGeneration(Long observedGeneration) {
    this.observedGeneration = observedGeneration;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TrainingRunStatus s
        && phase == s.phase
        && Objects.equals(step, s.step)
        && Objects.equals(latestCheckpoint, s.latestCheckpoint)
        && Objects.equals(resumedFrom, s.resumedFrom)
        && Objects.equals(resumeNonce, s.resumeNonce)
        && Objects.equals(timeline, s.timeline)
        && Objects.equals(restarts, s.restarts)
        && Objects.equals(pods, s.pods)
        && Objects.equals(conditions, s.conditions)
        && Objects.equals(observedGeneration, s.observedGeneration)
        && Objects.equals(progress, s.progress);
  }

  @Override
  public int hashCode() {
    return Objects.hash(
        phase,
        step,
        latestCheckpoint,
        resumedFrom,
        resumeNonce,
        timeline,
        restarts,
        pods,
        conditions,
        observedGeneration,
        progress);
  }
}
