package dev.stepwise.runtime.trainer;

import dev.stepwise.runtime.data.ReverseTextTask;
import dev.stepwise.runtime.model.ByteTokenizer;
import dev.stepwise.runtime.model.Policy;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.global.torch;

/** Held-out exact-match accuracy: greedy generation must reproduce the reversal, then EOS. */
public final class Evaluator {

  private Evaluator() {}

  public static double accuracy(Policy policy, ReverseTextTask task, int samples, Device device) {
    if (samples == 0) {
      return Double.NaN;
    }
    var byLength = new TreeMap<Integer, List<String>>();
    for (var i = 0; i < samples; i++) {
      var text = task.heldOutText(i);
      byLength.computeIfAbsent(text.length(), k -> new ArrayList<>()).add(text);
    }
    var correct = 0;
    for (var group : byLength.entrySet()) {
      var length = group.getKey();
      var texts = group.getValue();
      var promptLength = length + 2;
      var prompts = new long[texts.size() * promptLength];
      for (var i = 0; i < texts.size(); i++) {
        var row = i * promptLength;
        prompts[row] = ByteTokenizer.BOS;
        System.arraycopy(ByteTokenizer.encode(texts.get(i)), 0, prompts, row + 1, length);
        prompts[row + length + 1] = ByteTokenizer.SEP;
      }
      try (var scope = new PointerScope()) {
        var input =
            torch
                .tensor(prompts)
                .reshape(texts.size(), promptLength)
                .to(device, torch.ScalarType.Long);
        var output = policy.generate(input, length + 1, 0.0, null).cpu().contiguous();
        var total = promptLength + length + 1;
        var ids = new long[(int) (texts.size() * total)];
        new org.bytedeco.javacpp.LongPointer(output.data_ptr()).capacity(ids.length).get(ids);
        for (var i = 0; i < texts.size(); i++) {
          var row = java.util.Arrays.copyOfRange(ids, i * total, (i + 1) * total);
          var answer = ByteTokenizer.decode(row, promptLength);
          if (answer.equals(ReverseTextTask.reverse(texts.get(i)))
              && row[total - 1] == ByteTokenizer.EOS) {
            correct++;
          }
        }
      }
    }
    return (double) correct / samples;
  }
}
