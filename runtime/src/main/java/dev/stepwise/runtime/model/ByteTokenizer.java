package dev.stepwise.runtime.model;

import java.nio.charset.StandardCharsets;

/** Byte-level tokenizer: token ids 0-255 are bytes, then four special tokens. */
public final class ByteTokenizer {

  public static final int BOS = 256;
  public static final int SEP = 257;
  public static final int EOS = 258;
  public static final int PAD = 259;
  public static final int VOCAB_SIZE = 260;

  /** The byte-level prompt template and answers as a {@link TextCodec}. */
  public static final TextCodec CODEC =
      new TextCodec() {
        @Override
        public long[] prompt(String text) {
          return ByteTokenizer.prompt(text);
        }

        @Override
        public long[] answer(String text) {
          var bytes = encode(text);
          var ids = java.util.Arrays.copyOf(bytes, bytes.length + 1);
          ids[bytes.length] = EOS;
          return ids;
        }

        @Override
        public long endOfAnswer() {
          return EOS;
        }

        @Override
        public long pad() {
          return PAD;
        }

        @Override
        public String decode(long[] ids, int from) {
          return ByteTokenizer.decode(ids, from);
        }

        @Override
        public int vocabSize() {
          return VOCAB_SIZE;
        }
      };

  private ByteTokenizer() {}

  public static long[] encode(String text) {
    var bytes = text.getBytes(StandardCharsets.UTF_8);
    var ids = new long[bytes.length];
    for (var i = 0; i < bytes.length; i++) {
      ids[i] = bytes[i] & 0xff;
    }
    return ids;
  }

  /** The prompt template: {@code BOS text SEP}, the model's answer following the separator. */
  public static long[] prompt(String text) {
    var bytes = encode(text);
    var ids = new long[bytes.length + 2];
    ids[0] = BOS;
    System.arraycopy(bytes, 0, ids, 1, bytes.length);
    ids[ids.length - 1] = SEP;
    return ids;
  }

  /** Decodes byte tokens, stopping at the first special token. */
  public static String decode(long[] ids, int from) {
    var out = new byte[ids.length];
    var n = 0;
    for (var i = from; i < ids.length && ids[i] < 256; i++) {
      out[n++] = (byte) ids[i];
    }
    return new String(out, 0, n, StandardCharsets.UTF_8);
  }
}
