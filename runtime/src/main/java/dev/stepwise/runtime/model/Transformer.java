package dev.stepwise.runtime.model;

import dev.stepwise.runtime.config.ModelConfig;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * A small decoder-only transformer (pre-norm, RMSNorm, causal multi-head attention, GELU MLP,
 * learned positions) written from tensor ops on named parameters. Names follow the usual PyTorch
 * convention ({@code layers.0.attn.qkv.weight}, weights stored {@code [out, in]}), so the
 * safetensors files read naturally in Python. Every op is deterministic on CPU for a fixed thread
 * count.
 */
public final class Transformer implements Policy {

  private final ModelConfig config;
  private final int vocabSize;
  private final Device device;
  private final SortedMap<String, Tensor> params = new TreeMap<>();
  private final Map<Long, Tensor> masks = new HashMap<>();

  /** Builds and initialises the parameters from {@code seed} (on CPU, then moved to device). */
  public Transformer(ModelConfig config, int vocabSize, Device device, long seed) {
    this.config = config;
    this.vocabSize = vocabSize;
    this.device = device;
    torch.manual_seed(seed);
    long d = config.dModel();
    var std = 0.02;
    var residualStd = std / Math.sqrt(2.0 * config.nLayers());
    add("embed.weight", normal(std, vocabSize, d));
    add("pos_embed.weight", normal(std, config.maxSeqLen(), d));
    for (var i = 0; i < config.nLayers(); i++) {
      var p = "layers." + i + ".";
      add(p + "attn_norm.weight", torch.ones(d));
      add(p + "attn.qkv.weight", normal(std, 3 * d, d));
      add(p + "attn.out.weight", normal(residualStd, d, d));
      add(p + "mlp_norm.weight", torch.ones(d));
      add(p + "mlp.up.weight", normal(std, config.dFf(), d));
      add(p + "mlp.down.weight", normal(residualStd, d, config.dFf()));
    }
    add("final_norm.weight", torch.ones(d));
    add("lm_head.weight", normal(std, vocabSize, d));
  }

  private static Tensor normal(double std, long... shape) {
    var t = torch.randn(shape);
    t.mul_(new Scalar(std));
    return t;
  }

  private void add(String name, Tensor cpuValue) {
    var t = cpuValue.to(device, torch.ScalarType.Float).detach();
    t.set_requires_grad(true);
    params.put(name, t);
  }

  public ModelConfig config() {
    return config;
  }

  public Device device() {
    return device;
  }

  @Override
  public int vocabSize() {
    return vocabSize;
  }

  /** The parameters by name (sorted); the tensors are live and trainable. */
  @Override
  public SortedMap<String, Tensor> parameters() {
    return Collections.unmodifiableSortedMap(params);
  }

  /** Logits {@code [B, T, V]} for token ids {@code [B, T]} (int64, on this model's device). */
  @Override
  public Tensor logits(Tensor tokens) {
    var b = tokens.size(0);
    var t = tokens.size(1);
    if (t > config.maxSeqLen()) {
      throw new IllegalArgumentException(
          "sequence of " + t + " tokens exceeds max-seq-len " + config.maxSeqLen());
    }
    long d = config.dModel();
    long h = config.nHeads();
    var hd = d / h;
    var x = torch.embedding(p("embed.weight"), tokens).add(p("pos_embed.weight").narrow(0, 0, t));
    var mask = causalMask(t);
    var scale = new Scalar(1.0 / Math.sqrt(hd));
    for (var i = 0; i < config.nLayers(); i++) {
      var pre = "layers." + i + ".";
      var qkv = rmsNorm(x, p(pre + "attn_norm.weight")).matmul(p(pre + "attn.qkv.weight").t());
      var q = heads(qkv.narrow(2, 0, d), b, t, h, hd);
      var k = heads(qkv.narrow(2, d, d), b, t, h, hd);
      var v = heads(qkv.narrow(2, 2 * d, d), b, t, h, hd);
      var att = q.matmul(k.transpose(2, 3)).mul(scale).add(mask).softmax(-1);
      var y = att.matmul(v).transpose(1, 2).reshape(b, t, d);
      x = x.add(y.matmul(p(pre + "attn.out.weight").t()));
      var up = rmsNorm(x, p(pre + "mlp_norm.weight")).matmul(p(pre + "mlp.up.weight").t());
      x = x.add(torch.gelu(up).matmul(p(pre + "mlp.down.weight").t()));
    }
    return rmsNorm(x, p("final_norm.weight")).matmul(p("lm_head.weight").t());
  }

  /** {@code [B, T-1]}: log-probability of each next token {@code tokens[:, 1:]}. */
  @Override
  public Tensor tokenLogProbs(Tensor tokens) {
    var t = tokens.size(1);
    var logits = logits(tokens).narrow(1, 0, t - 1);
    var targets = tokens.narrow(1, 1, t - 1).unsqueeze(2);
    return logits.log_softmax(2).gather(2, targets).squeeze(2);
  }

  /**
   * Continues equal-length prompts {@code [B, P]} by up to {@code maxNew} tokens: greedy when
   * {@code temperature == 0}, else sampled from {@code generator}. Returns {@code [B, P+maxNew]}.
   */
  @Override
  public Tensor generate(
      Tensor prompts, int maxNew, double temperature, org.bytedeco.pytorch.Generator generator) {
    try (var noGrad = new NoGradGuard()) {
      var seq = prompts;
      for (var i = 0; i < maxNew; i++) {
        var t = seq.size(1);
        var last = logits(seq).narrow(1, t - 1, 1).squeeze(1);
        Tensor next;
        if (temperature == 0) {
          next = last.argmax(new org.bytedeco.pytorch.LongOptional(1), true);
        } else {
          var probs = last.div(new Scalar(temperature)).softmax(1);
          next = probs.multinomial(1, false, new GeneratorOptional(generator));
        }
        seq = torch.cat(new org.bytedeco.pytorch.TensorVector(seq, next), 1);
      }
      return seq;
    }
  }

  private Tensor p(String name) {
    return params.get(name);
  }

  private static Tensor heads(Tensor x, long b, long t, long h, long hd) {
    return x.reshape(b, t, h, hd).transpose(1, 2);
  }

  private static Tensor rmsNorm(Tensor x, Tensor weight) {
    var ms = x.pow(new Scalar(2.0)).mean(new long[] {-1}, true, new ScalarTypeOptional());
    return x.mul(ms.add(new Scalar(1e-6)).rsqrt()).mul(weight);
  }

  private Tensor causalMask(long t) {
    return masks.computeIfAbsent(
        t,
        n -> {
          var values = new float[(int) (n * n)];
          for (var i = 0; i < n; i++) {
            for (var j = i + 1; j < n; j++) {
              values[(int) (i * n + j)] = Float.NEGATIVE_INFINITY;
            }
          }
          var mask = torch.tensor(values).reshape(n, n).to(device, torch.ScalarType.Float);
          mask.retainReference();
          return mask;
        });
  }
}
