package dev.stepwise.runtime.checkpoint;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A SHA-256 that runs on a helper thread, so hashing a file overlaps reading or writing it (on two
 * cores a checkpoint's I/O would otherwise wait on the hash). Buffers are hashed in the order
 * given; small ones are hashed at once when nothing is queued.
 *
 * <p>The bytes of every buffer given to {@link #update} must stay unchanged and allocated until
 * {@link #hex} or {@link #await} has returned: call one of them on every path, errors included.
 */
final class BackgroundDigest {

  private static final int INLINE_BYTES = 256 << 10;

  private static final ExecutorService HASHERS =
      Executors.newCachedThreadPool(
          task -> {
            var thread = new Thread(task, "stepwise-sha256");
            thread.setDaemon(true);
            return thread;
          });

  private final MessageDigest digest = AtomicFiles.sha256();
  private CompletableFuture<Void> queued = CompletableFuture.completedFuture(null);

  /** Queues the remaining bytes of {@code buffer}; its position is left as it is. */
  void update(ByteBuffer buffer) {
    var view = buffer.duplicate();
    if (!view.hasRemaining()) {
      return;
    }
    if (queued.isDone() && view.remaining() < INLINE_BYTES) {
      queued.join();
      digest.update(view);
    } else {
      queued = queued.thenRunAsync(() -> digest.update(view), HASHERS);
    }
  }

  /** Waits for every queued buffer and returns the lowercase hex SHA-256 of all of them. */
  String hex() {
    queued.join();
    return HexFormat.of().formatHex(digest.digest());
  }

  /** Waits until no queued buffer is in use any more (for error paths; failures are ignored). */
  void await() {
    try {
      queued.join();
    } catch (RuntimeException e) {
      // The caller is already failing; it only needs the buffers released.
    }
  }
}
