package dev.stepwise.runtime.model;

/**
 * The thread counts CPU arithmetic depends on: torch's intra-op pool (set here) and OpenBLAS's own
 * pool (fixed by {@code OPENBLAS_NUM_THREADS} before the library loads; the launcher sets it). Both
 * are recorded in checkpoints, since a different count can change the last bits of results.
 */
public record Threads(int torchThreads, String blasThreads) {

  /** Pins torch's intra-op threads and returns what is in effect. */
  public static Threads pin(int count) {
    org.bytedeco.pytorch.global.torch.set_num_threads(count);
    return current();
  }

  public static Threads current() {
    var blas = System.getenv("OPENBLAS_NUM_THREADS");
    return new Threads(
        org.bytedeco.pytorch.global.torch.get_num_threads(),
        blas == null ? "unset (" + Runtime.getRuntime().availableProcessors() + " cores)" : blas);
  }
}
