package dev.stepwise.runtime.checkpoint;

import dev.stepwise.runtime.config.CkptConfig;

/**
 * Which history a hand-off directory ({@code weights/}, {@code rollouts/}) or a checkpoint part
 * belongs to: the timeline id ({@code --ckpt.timeline}) and its origin, the step the timeline was
 * resumed from ({@code --ckpt.resume-step}, 0 for a run started from scratch). Every process of a
 * timeline stamps the same pair, however often it restarts and from whichever checkpoint it
 * recovers, so a trainer or an orchestrator restarted alone still accepts what its peer wrote.
 *
 * <p>A reader accepts a step up to the origin from any writer (that history led to the checkpoint
 * the timeline resumed from) and a step beyond it only from its own timeline: what an abandoned
 * timeline (or an earlier run resumed elsewhere) left there is stale.
 */
public record Timeline(long id, long origin) {

  /** No checkpointing: one timeline from step 0. */
  public static final Timeline FRESH = new Timeline(0, 0);

  /**
   * The timeline of a process: {@code ckpt.timeline}, and as origin the resume step it was given,
   * else 0 ({@code latest} is resolved against {@code store} now, so it suits one-off local resumes
   * rather than pods that restart).
   */
  public static Timeline of(CkptConfig ckpt, CheckpointStore store) {
    if (ckpt == null) {
      return FRESH;
    }
    var request = ckpt.resumeStep();
    var origin = request == null ? 0 : request.latest() ? store.resolve(request) : request.step();
    return new Timeline(ckpt.timeline(), origin);
  }

  /** Whether data of {@code step} stamped {@code (timeline, origin)} is this timeline's history. */
  public boolean accepts(long step, long timeline, long origin) {
    return step <= this.origin || (timeline == id && origin == this.origin);
  }
}
