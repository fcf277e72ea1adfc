package dev.stepwise.runtime.parallel;

/**
 * A collective or the rendezvous failed: a peer rank died, hung past the timeout, or never joined.
 * The process group is unusable afterwards; the rank must exit non-zero so that it is restarted and
 * resumes from the latest complete checkpoint.
 */
public final class PeerLostException extends RuntimeException {

  public PeerLostException(String message, Throwable cause) {
    super(message, cause);
  }
}
