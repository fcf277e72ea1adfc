package dev.stepwise.runtime.dist;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import org.bytedeco.javacpp.SizeTPointer;
import org.bytedeco.javacpp.chrono.Milliseconds;
import org.bytedeco.pytorch.AllreduceOptions;
import org.bytedeco.pytorch.BarrierOptions;
import org.bytedeco.pytorch.ByteVector;
import org.bytedeco.pytorch.GlooDeviceVector;
import org.bytedeco.pytorch.ProcessGroupGloo;
import org.bytedeco.pytorch.ReduceOp;
import org.bytedeco.pytorch.StringVector;
import org.bytedeco.pytorch.TCPStore;
import org.bytedeco.pytorch.TCPStoreOptions;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;

/**
 * This rank's membership of the job: a c10d {@code TCPStore} hosted by rank 0 (rendezvous and small
 * key/value messages) and a Gloo process group for collectives on CPU tensors. Every collective and
 * store wait is bounded by the timeout; a failure becomes a {@link PeerLostException} naming the
 * lost rank, and the group is poisoned. A world of one is a no-op group that loads no natives.
 */
public final class ProcessGroup implements AutoCloseable {

  private static final String PREFIX = "stepwise/";
  private static final Duration ROLL_CALL = Duration.ofSeconds(3);
  private static final Pattern NATIVE_LOCATION = Pattern.compile("^\\[[^\\]]*:\\d+\\]\\s*");

  private final DistEnv env;
  private final Duration timeout;
  // Strong references: the native process group uses the store; freeing it early is use-after-free.
  private final TCPStore store;
  private final ProcessGroupGloo gloo;
  private final AllreduceOptions sum;
  private volatile boolean poisoned;

  private ProcessGroup(
      DistEnv env, Duration timeout, TCPStore store, ProcessGroupGloo gloo, AllreduceOptions sum) {
    this.env = env;
    this.timeout = timeout;
    this.store = store;
    this.gloo = gloo;
    this.sum = sum;
  }

  /** The group of a single process: collectives return at once. */
  public static ProcessGroup single() {
    return new ProcessGroup(DistEnv.SINGLE, Duration.ofSeconds(60), null, null, null);
  }

  /**
   * Joins the job {@code env} describes (rank 0 hosts the store); waits at most {@code timeout}.
   */
  public static ProcessGroup join(DistEnv env, Duration timeout) {
    if (!env.distributed()) {
      return single();
    }
    var millis = new Milliseconds(timeout.toMillis());
    TCPStore store;
    try {
      var options =
          new TCPStoreOptions()
              .port((short) env.masterPort())
              .isServer(env.rank() == 0)
              .numWorkers(new SizeTPointer(1).put(env.worldSize()))
              .waitWorkers(true)
              .timeout(millis)
              .useLibUV(false);
      store = new TCPStore(env.masterAddr(), options);
    } catch (RuntimeException e) {
      throw new PeerLostException(
          "rendezvous at "
              + env.masterAddr()
              + ":"
              + env.masterPort()
              + " failed for rank "
              + env.rank()
              + " of "
              + env.worldSize()
              + " within "
              + timeout.toSeconds()
              + " s ("
              + firstLine(e)
              + ")",
          e);
    }
    var options = ProcessGroupGloo.Options.create(millis);
    options.devices(new GlooDeviceVector(ProcessGroupGloo.createDefaultDevice()));
    options.threads(2);
    ProcessGroupGloo gloo;
    try {
      gloo = new ProcessGroupGloo(store, env.rank(), env.worldSize(), options);
    } catch (RuntimeException e) {
      throw new PeerLostException(
          "rank "
              + env.rank()
              + ": cannot connect the Gloo process group of "
              + env.worldSize()
              + " ranks ("
              + firstLine(e)
              + ")",
          e);
    }
    var sum = new AllreduceOptions().reduceOp(new ReduceOp(ReduceOp.RedOpType.SUM));
    return new ProcessGroup(env, timeout, store, gloo, sum);
  }

  public int rank() {
    return env.rank();
  }

  public int worldSize() {
    return env.worldSize();
  }

  public boolean distributed() {
    return env.distributed();
  }

  public Duration timeout() {
    return timeout;
  }

  /** Sums {@code tensor} (contiguous, CPU) over all ranks, in place; {@code what} names it. */
  public void allReduceSum(Tensor tensor, String what) {
    if (distributed()) {
      guard("all-reduce of " + what, () -> gloo.allreduce(new TensorVector(tensor), sum)._wait());
    }
  }

  /** Waits until every rank reaches the same barrier. */
  public void barrier(String what) {
    if (distributed()) {
      guard("barrier (" + what + ")", () -> gloo.barrier(new BarrierOptions())._wait());
    }
  }

  /** Publishes this rank's value under {@code key} for rank 0 to {@link #gather}. */
  public void publish(String key, byte[] value) {
    if (distributed()) {
      guard("publish " + key, () -> store.set(PREFIX + key + "/" + rank(), new ByteVector(value)));
    }
  }

  /**
   * Every rank's value under {@code key}, by rank, waiting at most the timeout for the last one. On
   * a single process, returns {@code own}.
   */
  public List<byte[]> gather(String key, byte[] own) {
    if (!distributed()) {
      return List.of(own);
    }
    var keys = new ArrayList<String>();
    for (var r = 0; r < worldSize(); r++) {
      keys.add(PREFIX + key + "/" + r);
    }
    return guard(
        "gather " + key,
        () -> {
          store._wait(new StringVector(keys.toArray(String[]::new)), new Milliseconds(timeoutMs()));
          var values = new ArrayList<byte[]>();
          for (var k : keys) {
            values.add(store.get(k).get());
          }
          return values;
        });
  }

  private long timeoutMs() {
    return timeout.toMillis();
  }

  private void guard(String what, Runnable op) {
    guard(
        what,
        () -> {
          op.run();
          return null;
        });
  }

  private <T> T guard(String what, Supplier<T> op) {
    if (poisoned) {
      throw new PeerLostException("rank " + rank() + ": the process group already failed", null);
    }
    var start = System.nanoTime();
    try {
      return op.get();
    } catch (RuntimeException e) {
      poisoned = true;
      var seconds = (System.nanoTime() - start) / 1e9;
      throw new PeerLostException(
          lostRanks()
              + " ("
              + what
              + " failed on rank "
              + rank()
              + String.format(" after %.1f s: ", seconds)
              + firstLine(e)
              + ")",
          e);
    }
  }

  /**
   * Names the ranks that are gone. With two ranks it is the other one; otherwise a roll call
   * through the store: the survivors check in, and whoever has not within a few seconds is lost. If
   * the store itself is unreachable, rank 0 (its host) is gone.
   */
  private String lostRanks() {
    if (worldSize() == 2) {
      return "rank " + (1 - rank()) + " lost";
    }
    try {
      store.set(PREFIX + "alive/" + rank(), new ByteVector((byte) 1));
      var missing = new TreeSet<Integer>();
      var deadline = System.nanoTime() + Math.min(ROLL_CALL.toNanos(), timeout.toNanos());
      do {
        missing.clear();
        for (var r = 0; r < worldSize(); r++) {
          if (!store.check(new StringVector(PREFIX + "alive/" + r))) {
            missing.add(r);
          }
        }
        if (!missing.isEmpty()) {
          Thread.sleep(100);
        }
      } while (!missing.isEmpty() && System.nanoTime() < deadline);
      if (missing.isEmpty()) {
        return "a peer rank was lost";
      }
      return (missing.size() == 1 ? "rank " : "ranks ") + joinRanks(missing) + " lost";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "a peer rank was lost";
    } catch (RuntimeException e) {
      return "rank 0 lost (the rendezvous store it hosts is unreachable)";
    }
  }

  private static String joinRanks(TreeSet<Integer> ranks) {
    var parts = new ArrayList<String>();
    ranks.forEach(r -> parts.add(Integer.toString(r)));
    return String.join(", ", parts);
  }

  /** The first line of a native error (the rest is a C++ stack), without its source location. */
  static String firstLine(Throwable e) {
    var message = String.valueOf(e.getMessage()).strip();
    var newline = message.indexOf('\n');
    var line = newline < 0 ? message : message.substring(0, newline).strip();
    return NATIVE_LOCATION.matcher(line).replaceFirst("");
  }

  /**
   * Leaves the group. After a failure nothing is torn down (the peers are gone and native teardown
   * could block); the process is about to exit anyway.
   */
  @Override
  public void close() {
    if (!distributed() || poisoned) {
      return;
    }
    gloo.close();
    store.close();
  }
}
