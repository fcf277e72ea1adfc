package dev.stepwise.runtime.parallel;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import org.bytedeco.javacpp.SizeTPointer;
import org.bytedeco.javacpp.chrono.Milliseconds;
import org.bytedeco.pytorch.AllreduceOptions;
import org.bytedeco.pytorch.Backend;
import org.bytedeco.pytorch.BarrierOptions;
import org.bytedeco.pytorch.ByteVector;
import org.bytedeco.pytorch.GlooDeviceVector;
import org.bytedeco.pytorch.LongVector;
import org.bytedeco.pytorch.ProcessGroupGloo;
import org.bytedeco.pytorch.ReduceOp;
import org.bytedeco.pytorch.StringVector;
import org.bytedeco.pytorch.TCPStore;
import org.bytedeco.pytorch.TCPStoreOptions;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;

/**
 * This rank's membership of the job: a c10d {@code TCPStore} hosted by rank 0 (rendezvous and small
 * key/value messages) and a process group for collectives: Gloo on CPU tensors, or NCCL on CUDA
 * tensors when training runs on GPUs (each rank then owns {@code cuda:LOCAL_RANK}, like torchrun).
 * Every collective and store wait is bounded by the timeout; a failure becomes a {@link
 * PeerLostException} naming the lost rank, and the group is poisoned. A world of one is a no-op
 * group that loads no natives.
 */
public final class ProcessGroup implements AutoCloseable {

  /** Which c10d backend carries the collectives. */
  public enum Collectives {
    /** CPU tensors, over TCP. */
    GLOO,
    /** CUDA tensors of this rank's GPU ({@code cuda:LOCAL_RANK}). */
    NCCL;

    /** NCCL for a run on CUDA, Gloo for one on CPU. */
    public static Collectives forDevice(dev.stepwise.runtime.config.Device device) {
      return device == dev.stepwise.runtime.config.Device.CUDA ? NCCL : GLOO;
    }

    /** The name c10d gives the backend. */
    public String label() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  private static final String PREFIX = "stepwise/";
  private static final Duration ROLL_CALL = Duration.ofSeconds(3);
  private static final Pattern NATIVE_LOCATION = Pattern.compile("^\\[[^\\]]*:\\d+\\]\\s*");

  private final DistEnv env;
  private final Duration timeout;
  // Strong references: the native process group uses the store; freeing it early is use-after-free.
  private final TCPStore store;
  private final Collectives collectives;
  private final Backend backend;
  private final AllreduceOptions sum;
  private volatile boolean poisoned;

  private ProcessGroup(
      DistEnv env,
      Duration timeout,
      TCPStore store,
      Collectives collectives,
      Backend backend,
      AllreduceOptions sum) {
    this.env = env;
    this.timeout = timeout;
    this.store = store;
    this.collectives = collectives;
    this.backend = backend;
    this.sum = sum;
  }

  /** The group of a single process: collectives return at once. */
  public static ProcessGroup single() {
    return new ProcessGroup(
        DistEnv.SINGLE, Duration.ofSeconds(60), null, Collectives.GLOO, null, null);
  }

  /**
   * Joins the job {@code env} describes (rank 0 hosts the store) with Gloo collectives; waits at
   * most {@code timeout}.
   */
  public static ProcessGroup join(DistEnv env, Duration timeout) {
    return join(env, timeout, Collectives.GLOO);
  }

  /**
   * Joins the job {@code env} describes with the given collectives (see {@link
   * Collectives#forDevice}); waits at most {@code timeout}. With NCCL this rank's current CUDA
   * device becomes {@code cuda:LOCAL_RANK}.
   */
  public static ProcessGroup join(DistEnv env, Duration timeout, Collectives collectives) {
    if (!env.distributed()) {
      return single();
    }
    return connect(env, timeout, collectives);
  }

  /** Connects even a world of one (tests of a backend on one GPU use this). */
  static ProcessGroup connect(DistEnv env, Duration timeout, Collectives collectives) {
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
    Backend backend;
    try {
      backend =
          collectives == Collectives.NCCL
              ? Nccl.connect(store, env, millis)
              : glooBackend(store, env, millis);
    } catch (RuntimeException e) {
      throw new PeerLostException(
          "rank "
              + env.rank()
              + ": cannot connect the "
              + (collectives == Collectives.NCCL ? "NCCL" : "Gloo")
              + " process group of "
              + env.worldSize()
              + " ranks ("
              + firstLine(e)
              + ")",
          e);
    }
    var sum = new AllreduceOptions().reduceOp(new ReduceOp(ReduceOp.RedOpType.SUM));
    return new ProcessGroup(env, timeout, store, collectives, backend, sum);
  }

  private static Backend glooBackend(TCPStore store, DistEnv env, Milliseconds millis) {
    var options = ProcessGroupGloo.Options.create(millis);
    options.devices(new GlooDeviceVector(ProcessGroupGloo.createDefaultDevice()));
    options.threads(2);
    return new ProcessGroupGloo(store, env.rank(), env.worldSize(), options);
  }

  /**
   * The NCCL backend, in its own class so that CPU-only runs never load the CUDA natives. The rank
   * binds {@code cuda:LOCAL_RANK} first, as torchrun users do with {@code torch.cuda.set_device}.
   */
  private static final class Nccl {

    private Nccl() {}

    static Backend connect(TCPStore store, DistEnv env, Milliseconds millis) {
      if (!org.bytedeco.pytorch.global.torch.cuda_is_available()) {
        throw new IllegalStateException(
            "NCCL needs CUDA, and no CUDA device is available to this build");
      }
      var gpus = org.bytedeco.pytorch.global.torch.cuda_device_count();
      if (env.localRank() >= gpus) {
        throw new IllegalStateException(
            "LOCAL_RANK "
                + env.localRank()
                + " has no GPU of its own: this machine shows "
                + gpus
                + " CUDA device(s), and NCCL needs one GPU per rank");
      }
      org.bytedeco.pytorch.global.torch_cuda.set_device((byte) env.localRank());
      var options = org.bytedeco.pytorch.nccl.ProcessGroupNCCL.Options.create();
      options.timeout(millis);
      return new org.bytedeco.pytorch.nccl.ProcessGroupNCCL(
          store, env.rank(), env.worldSize(), options);
    }
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

  /** The backend that carries the collectives. */
  public Collectives collectives() {
    return collectives;
  }

  /**
   * Whether collectives take CUDA tensors in place (NCCL); otherwise they take CPU tensors (Gloo).
   */
  public boolean reducesOnDevice() {
    return collectives == Collectives.NCCL;
  }

  /**
   * Sums {@code tensor} (contiguous; on CPU for Gloo, on this rank's GPU for NCCL) over all ranks,
   * in place; {@code what} names it. Returns once the sum is complete.
   */
  public void allReduceSum(Tensor tensor, String what) {
    if (backend != null) {
      guard(
          "all-reduce of " + what,
          () -> await(backend.allreduce(new TensorVector(tensor), sum), what));
    }
  }

  /** Waits until every rank reaches the same barrier. */
  public void barrier(String what) {
    if (backend != null) {
      var options = new BarrierOptions();
      if (collectives == Collectives.NCCL) {
        // NCCL's barrier reduces a tensor on a device; name ours rather than let it guess.
        options.device_ids(new LongVector(new long[] {env.localRank()}));
      }
      guard("barrier (" + what + ")", () -> await(backend.barrier(options), what));
    }
  }

  /**
   * Waits for a collective. Gloo's wait blocks the host; NCCL's blocks the host too once given a
   * timeout (without one it only orders the CUDA stream), and reports a timeout as an error.
   */
  private void await(org.bytedeco.pytorch.Work work, String what) {
    if (collectives == Collectives.NCCL) {
      if (!work._wait(new Milliseconds(timeoutMs()))) {
        throw new IllegalStateException(what + " did not complete within " + timeoutMs() + " ms");
      }
    } else {
      work._wait();
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
    if (backend == null || poisoned) {
      return;
    }
    if (collectives == Collectives.NCCL) {
      backend.shutdown(); // flushes NCCL's communicators before the native object goes
    }
    backend.close();
    store.close();
  }
}
