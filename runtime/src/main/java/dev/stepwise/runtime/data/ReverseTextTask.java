package dev.stepwise.runtime.data;

import dev.stepwise.runtime.config.DataConfig;
import dev.stepwise.runtime.model.ByteTokenizer;
import dev.stepwise.runtime.model.TextCodec;
import java.util.SplittableRandom;
import org.bytedeco.pytorch.Device;

/**
 * The reverse-text task: the prompt is a random string, the answer is that string reversed. Every
 * example is a pure function of (seed, index), and a batch of (seed, step, rank), so a resumed run
 * needs no data-loader state. About one string in eight belongs to the held-out split (by a hash of
 * the string itself) and is never trained on.
 */
public final class ReverseTextTask {

  private static final long TRAIN_STREAM = 0x5452_4149_4eL;
  private static final long EVAL_STREAM = 0x4556_414cL;
  private static final int HELD_OUT_BUCKETS = 8;

  private final DataConfig config;
  private final long seed;
  private final TextCodec codec;
  private final int sequenceLength;

  /** The task on the byte-level tokenizer. */
  public ReverseTextTask(DataConfig config, long seed) {
    this(config, seed, ByteTokenizer.CODEC);
  }

  /** The task in {@code codec}'s prompt template and tokens. */
  public ReverseTextTask(DataConfig config, long seed, TextCodec codec) {
    this.config = config;
    this.seed = seed;
    this.codec = codec;
    // Each ASCII character is at most one token, so a string of n characters is at most n tokens.
    this.sequenceLength = codec.prompt("").length + 2 * config.maxLen() + 1;
  }

  public TextCodec codec() {
    return codec;
  }

  public DataConfig config() {
    return config;
  }

  /**
   * Longest sequence a batch holds: the prompt template around the text, then the reversed text and
   * the end-of-answer token (byte-level: BOS, text, SEP, reversed text, EOS).
   */
  public int sequenceLength() {
    return sequenceLength;
  }

  /** The {@code index}-th training string (never a held-out one). */
  public String trainText(long index) {
    return draw(TRAIN_STREAM, index, false);
  }

  /** The {@code index}-th held-out string. */
  public String heldOutText(long index) {
    return draw(EVAL_STREAM, index, true);
  }

  public static String reverse(String text) {
    return new StringBuilder(text).reverse().toString();
  }

  /**
   * Sequences per rank: {@code batch-size} is the global batch, split evenly, so the examples of a
   * step do not depend on the world size.
   */
  public int rankBatchSize(int worldSize) {
    if (config.batchSize() % worldSize != 0) {
      throw new IllegalArgumentException(
          "data.batch-size "
              + config.batchSize()
              + " (the global batch) does not split evenly across "
              + worldSize
              + " ranks");
    }
    return config.batchSize() / worldSize;
  }

  /** Index of the first example of {@code step} (1-based) for {@code rank}. */
  public long firstIndex(long step, int rank, int worldSize) {
    return ((step - 1) * worldSize + rank) * rankBatchSize(worldSize);
  }

  /**
   * The training batch of {@code step} (1-based) for {@code rank} of {@code worldSize}: that rank's
   * slice of the step's global batch.
   */
  public Batch batch(long step, int rank, int worldSize, Device device) {
    return hostBatch(step, rank, worldSize).toDevice(device);
  }

  /**
   * {@link #batch} before its copy to the device: the tokenizing, which a trainer can do for the
   * next step while the device still runs this one.
   */
  public HostBatch hostBatch(long step, int rank, int worldSize) {
    return batchOf(firstIndex(step, rank, worldSize), rankBatchSize(worldSize), false);
  }

  /** The held-out strings {@code first .. first + count - 1} as a batch (for the held-out loss). */
  public Batch heldOutBatch(long first, int count, Device device) {
    return batchOf(first, count, true).toDevice(device);
  }

  private HostBatch batchOf(long first, int b, boolean heldOut) {
    var t = sequenceLength();
    var tokens = new long[b * t];
    var mask = new float[b * (t - 1)];
    long answerTokens = 0;
    long realTokens = 0;
    for (var i = 0; i < b; i++) {
      var text = heldOut ? heldOutText(first + i) : trainText(first + i);
      var prompt = codec.prompt(text);
      var answer = codec.answer(reverse(text));
      if (prompt.length + answer.length > t) {
        throw new IllegalStateException(
            "reverse-text: '" + text + "' takes more than " + t + " tokens");
      }
      var row = i * t;
      var pos = 0;
      for (var id : prompt) {
        tokens[row + pos++] = id;
      }
      var answerStart = pos;
      for (var id : answer) {
        tokens[row + pos++] = id;
      }
      realTokens += pos;
      // Position p predicts token p+1: the loss covers the answer and its EOS.
      for (var p = answerStart - 1; p < pos - 1; p++) {
        mask[i * (t - 1) + p] = 1f;
        answerTokens++;
      }
      while (pos < t) {
        tokens[row + pos++] = codec.pad();
      }
    }
    return new HostBatch(tokens, mask, b, t, realTokens, answerTokens);
  }

  private String draw(long stream, long index, boolean heldOut) {
    var random = new SplittableRandom(mix(mix(seed ^ stream) + index));
    var alphabet = config.alphabet();
    while (true) {
      var length = config.minLen() + random.nextInt(config.maxLen() - config.minLen() + 1);
      var chars = new char[length];
      for (var i = 0; i < length; i++) {
        chars[i] = alphabet.charAt(random.nextInt(alphabet.length()));
      }
      var text = new String(chars);
      if (isHeldOut(text) == heldOut) {
        return text;
      }
    }
  }

  /** Whether a string belongs to the held-out split (a property of the string, not the seed). */
  public static boolean isHeldOut(String text) {
    return Math.floorMod(mix(text.hashCode()), HELD_OUT_BUCKETS) == 0;
  }

  private static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
    z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
    return z ^ (z >>> 31);
  }
}
