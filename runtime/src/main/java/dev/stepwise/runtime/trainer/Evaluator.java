package dev.stepwise.runtime.trainer;

import dev.stepwise.runtime.data.ReverseTextTask;
import dev.stepwise.runtime.model.Policy;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeMap;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.global.torch;

/**
 * Held-out evaluation: exact-match accuracy (greedy generation must reproduce the reversal, then
 * the end-of-answer token) and the loss on the held-out answers.
 */
public final class Evaluator {

  private Evaluator() {}

  /**
   * The mean negative log-likelihood of the answer tokens of the first {@code samples} held-out
   * examples, in batches of at most {@code batchSize}, without gradients.
   */
  public static double loss(
      Policy policy, ReverseTextTask task, int samples, int batchSize, Device device) {
    if (samples == 0) {
      return Double.NaN;
    }
    var nll = 0.0;
    var tokens = 0.0;
    try (var noGrad = new NoGradGuard()) {
      for (var first = 0; first < samples; first += batchSize) {
        try (var scope = new PointerScope()) {
          var batch = task.heldOutBatch(first, Math.min(batchSize, samples - first), device);
          var logProbs = policy.tokenLogProbs(batch.tokens());
          nll -= logProbs.mul(batch.lossMask()).sum().item_double();
          tokens += batch.lossTokens();
        }
      }
    }
    return nll / Math.max(1, tokens);
  }

  public static double accuracy(Policy policy, ReverseTextTask task, int samples, Device device) {
    if (samples == 0) {
      return Double.NaN;
    }
    var codec = task.codec();
    // Prompts of one token length go through generation together.
    var byLength = new TreeMap<Integer, List<String>>();
    for (var i = 0; i < samples; i++) {
      var text = task.heldOutText(i);
      byLength.computeIfAbsent(codec.prompt(text).length, k -> new ArrayList<>()).add(text);
    }
    var correct = 0;
    for (var group : byLength.entrySet()) {
      var promptLength = group.getKey();
      var texts = group.getValue();
      var maxNew = 0;
      var prompts = new long[texts.size() * promptLength];
      for (var i = 0; i < texts.size(); i++) {
        System.arraycopy(codec.prompt(texts.get(i)), 0, prompts, i * promptLength, promptLength);
        var answer = codec.answer(ReverseTextTask.reverse(texts.get(i)));
        maxNew = Math.max(maxNew, answer.length);
      }
      try (var scope = new PointerScope()) {
        var input =
            torch
                .tensor(prompts)
                .reshape(texts.size(), promptLength)
                .to(device, torch.ScalarType.Long);
        var output = policy.generate(input, maxNew, 0.0, null).cpu().contiguous();
        var total = promptLength + maxNew;
        var ids = new long[texts.size() * total];
        new LongPointer(output.data_ptr()).capacity(ids.length).get(ids);
        for (var i = 0; i < texts.size(); i++) {
          var row = Arrays.copyOfRange(ids, i * total, (i + 1) * total);
          var end = promptLength;
          while (end < total && row[end] != codec.endOfAnswer()) {
            end++;
          }
          if (end < total
              && codec
                  .decode(Arrays.copyOfRange(row, promptLength, end), 0)
                  .equals(ReverseTextTask.reverse(texts.get(i)))) {
            correct++;
          }
        }
      }
    }
    return (double) correct / samples;
  }
}
