package dev.stepwise.runtime;

import java.util.ArrayList;
import java.util.List;

/**
 * The model the tests train: a transformer small enough for a run of a few steps to take seconds.
 */
public final class TestModels {

  /** d-model 16, one layer, two heads, d-ff 32; the sequence length is the config's. */
  public static final List<String> TINY =
      List.of(
          "--model.d-model",
          "16",
          "--model.n-layers",
          "1",
          "--model.n-heads",
          "2",
          "--model.d-ff",
          "32");

  private TestModels() {}

  /** {@link #TINY} with {@code --model.max-seq-len maxSeqLen}. */
  public static List<String> tiny(int maxSeqLen) {
    var flags = new ArrayList<>(TINY);
    flags.addAll(List.of("--model.max-seq-len", String.valueOf(maxSeqLen)));
    return List.copyOf(flags);
  }

  /** The arguments {@code before}, then the tiny model's, then {@code after}. */
  public static List<String> around(List<String> before, List<String> model, List<String> after) {
    var args = new ArrayList<>(before);
    args.addAll(model);
    args.addAll(after);
    return args;
  }
}
