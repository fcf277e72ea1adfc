package dev.stepwise.runtime.model;

/**
 * Text to token ids and back for one task turn: a prompt in the model's template, an answer that
 * ends with the end-of-answer token, and decoding that stops there. The byte-level toy model and
 * Hugging Face tokenizers both provide one.
 */
public interface TextCodec {

  /** The prompt of a user turn, up to where the answer starts. */
  long[] prompt(String text);

  /** The answer's tokens followed by {@link #endOfAnswer()}. */
  long[] answer(String text);

  /** The token that ends an answer (generation stops on it). */
  long endOfAnswer();

  /** The token that pads sequences of a batch (never trained on). */
  long pad();

  /** The text of {@code ids[from:]} up to the first end-of-answer or special token. */
  String decode(long[] ids, int from);

  int vocabSize();
}
