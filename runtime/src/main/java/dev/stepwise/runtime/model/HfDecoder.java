package dev.stepwise.runtime.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.Supplier;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.GradMode;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * The Qwen3 / Llama decoder from an {@link HfConfig}, on named parameters that carry the Hugging
 * Face names ({@code model.layers.0.self_attn.q_proj.weight}, weights {@code [out, in]}), so HF
 * checkpoints load and save without renaming. Pre-norm blocks: RMSNorm (computed in fp32 from
 * tensor ops), rotary positions with {@code rope_theta}, grouped-query attention through libtorch's
 * fused scaled-dot-product attention (q/k RMSNorm per head for Qwen3), SwiGLU MLP, and an LM head
 * that is the embedding matrix when {@code tie_word_embeddings}. Generation keeps a KV cache: the
 * prompt is run once, then one token per step.
 *
 * <p>Parameters are fp32 (the optimizer's master weights). On CUDA the matrix products, attention
 * and the KV cache run in bf16, as under PyTorch's autocast: weights are cast per forward, the
 * residual stream, the norms and the log-softmax stay in fp32, and gradients land in fp32. On the
 * CPU everything is fp32.
 */
public final class HfDecoder implements Policy {

  public static final String EMBED = "model.embed_tokens.weight";
  public static final String LM_HEAD = "lm_head.weight";

  private final HfConfig config;
  private final Device device;
  private final SortedMap<String, Tensor> params = new TreeMap<>();
  private final Tensor invFreq;
  private final torch.ScalarType compute;
  private final Map<String, Tensor> castWeights = new HashMap<>();
  private final Map<String, long[]> castVersions = new HashMap<>();
  private boolean castOnce;

  /**
   * A model with freshly initialised fp32 parameters (normal with {@code initializer_range}, norms
   * at one) drawn from {@code seed} on CPU, then moved to {@code device}.
   */
  public HfDecoder(HfConfig config, Device device, long seed) {
    this(
        config,
        device,
        seed,
        device.is_cuda() ? torch.ScalarType.BFloat16 : torch.ScalarType.Float);
  }

  /** As above, with the dtype of matrix products and attention given ({@code Float} or bf16). */
  public HfDecoder(HfConfig config, Device device, long seed, torch.ScalarType compute) {
    this.config = config;
    this.device = device;
    this.compute = compute;
    torch.manual_seed(seed);
    for (var spec : parameterShapes(config)) {
      var t =
          spec.name().endsWith("norm.weight")
              ? torch.ones(spec.shape())
              : spec.name().endsWith(".bias")
                  ? torch.zeros(spec.shape())
                  : torch.randn(spec.shape()).mul_(new Scalar(config.initializerRange()));
      var live = t.to(device, torch.ScalarType.Float).detach();
      live.set_requires_grad(true);
      params.put(spec.name(), live);
    }
    // HF: inv_freq = 1 / theta ** (arange(0, d, 2) / d), computed in fp32.
    var d = config.headDim();
    var exponent =
        torch.arange(new Scalar(0), new Scalar(d), new Scalar(2)).to(torch.ScalarType.Float);
    invFreq =
        torch
            .pow(new Scalar(config.ropeTheta()), exponent.div(new Scalar((double) d)))
            .reciprocal()
            .to(device, torch.ScalarType.Float);
  }

  /** A parameter's HF name and shape. */
  public record ParamSpec(String name, long[] shape) {}

  /** Every parameter the config implies, in a fixed order (the order of random init). */
  public static List<ParamSpec> parameterShapes(HfConfig c) {
    var out = new ArrayList<ParamSpec>();
    long h = c.hiddenSize();
    long q = (long) c.numHeads() * c.headDim();
    long kv = (long) c.numKvHeads() * c.headDim();
    out.add(new ParamSpec(EMBED, new long[] {c.vocabSize(), h}));
    for (var i = 0; i < c.numLayers(); i++) {
      var p = "model.layers." + i + ".";
      out.add(new ParamSpec(p + "input_layernorm.weight", new long[] {h}));
      out.add(new ParamSpec(p + "self_attn.q_proj.weight", new long[] {q, h}));
      out.add(new ParamSpec(p + "self_attn.k_proj.weight", new long[] {kv, h}));
      out.add(new ParamSpec(p + "self_attn.v_proj.weight", new long[] {kv, h}));
      out.add(new ParamSpec(p + "self_attn.o_proj.weight", new long[] {h, q}));
      if (c.attentionBias()) {
        out.add(new ParamSpec(p + "self_attn.q_proj.bias", new long[] {q}));
        out.add(new ParamSpec(p + "self_attn.k_proj.bias", new long[] {kv}));
        out.add(new ParamSpec(p + "self_attn.v_proj.bias", new long[] {kv}));
        out.add(new ParamSpec(p + "self_attn.o_proj.bias", new long[] {h}));
      }
      if (c.qkNorm()) {
        out.add(new ParamSpec(p + "self_attn.q_norm.weight", new long[] {c.headDim()}));
        out.add(new ParamSpec(p + "self_attn.k_norm.weight", new long[] {c.headDim()}));
      }
      out.add(new ParamSpec(p + "post_attention_layernorm.weight", new long[] {h}));
      out.add(new ParamSpec(p + "mlp.gate_proj.weight", new long[] {c.intermediateSize(), h}));
      out.add(new ParamSpec(p + "mlp.up_proj.weight", new long[] {c.intermediateSize(), h}));
      out.add(new ParamSpec(p + "mlp.down_proj.weight", new long[] {h, c.intermediateSize()}));
    }
    out.add(new ParamSpec("model.norm.weight", new long[] {h}));
    if (!c.tieWordEmbeddings()) {
      out.add(new ParamSpec(LM_HEAD, new long[] {c.vocabSize(), h}));
    }
    return out;
  }

  public HfConfig config() {
    return config;
  }

  public Device device() {
    return device;
  }

  @Override
  public SortedMap<String, Tensor> parameters() {
    return Collections.unmodifiableSortedMap(params);
  }

  @Override
  public int vocabSize() {
    return config.vocabSize();
  }

  /**
   * Per-layer keys and values of the positions seen so far, {@code [B, kvHeads, T, headDim]}. It
   * holds a reference to its tensors (so they outlive the PointerScope of the step that made them)
   * and drops the superseded ones at each step; {@link #close()} drops the rest at once rather than
   * at the next garbage collection (device memory is not Java heap).
   */
  public static final class KvCache implements AutoCloseable {
    private final Tensor[] keys;
    private final Tensor[] values;
    private long length;

    public KvCache(int layers) {
      keys = new Tensor[layers];
      values = new Tensor[layers];
    }

    public long length() {
      return length;
    }

    /** Layer {@code layer}'s keys (tests). */
    Tensor keys(int layer) {
      return keys[layer];
    }

    @Override
    public void close() {
      for (var i = 0; i < keys.length; i++) {
        if (keys[i] != null) {
          keys[i].releaseReference();
          values[i].releaseReference();
          keys[i] = null;
          values[i] = null;
        }
      }
      length = 0;
    }
  }

  @Override
  public Tensor logits(Tensor tokens) {
    return forward(tokens, null);
  }

  /**
   * Logits {@code [B, T, V]} of {@code tokens} {@code [B, T]} that follow the {@code cache}'s
   * positions (none when {@code cache} is null or empty); appends their keys and values to it.
   */
  public Tensor forward(Tensor tokens, KvCache cache) {
    return forward(tokens, cache, HeadOver.ALL);
  }

  /** The positions whose logits a forward pass makes (the LM head runs on those only). */
  private enum HeadOver {
    ALL,
    /** The last one ({@code T = 1}): generation. */
    LAST,
    /** All but the last ({@code T - 1}): those that predict a token of the sequence. */
    ALL_BUT_LAST
  }

  /** As above, with logits for the positions {@code over} selects. */
  private Tensor forward(Tensor tokens, KvCache cache, HeadOver over) {
    var t = tokens.size(1);
    long past = cache == null ? 0 : cache.length;
    var x = torch.embedding(p(EMBED), tokens);
    // HF: freqs = positions[:, None] * inv_freq; emb = cat(freqs, freqs); cos/sin in fp32.
    // Made on the device: a copy from the host would wait for the work queued before it.
    var positions =
        torch
            .arange(
                new Scalar(past),
                new Scalar(past + t),
                new TensorOptions(torch.ScalarType.Float).device(new DeviceOptional(device)))
            .unsqueeze(1);
    var freqs = positions.mul(invFreq);
    var emb = torch.cat(new TensorVector(freqs, freqs), -1);
    var cos = emb.cos().to(compute);
    var sin = emb.sin().to(compute);
    var causal = t > 1 && past == 0;
    if (t > 1 && past > 0) {
      throw new IllegalArgumentException("a multi-token step after a prefilled cache");
    }
    for (var i = 0; i < config.numLayers(); i++) {
      var input = x;
      var layer = i;
      x = keepingOnlyResult(() -> layer(layer, input, cos, sin, cache, causal));
    }
    if (cache != null) {
      cache.length = past + t;
    }
    if (over == HeadOver.LAST && t > 1) {
      x = x.narrow(1, t - 1, 1);
    } else if (over == HeadOver.ALL_BUT_LAST) {
      x = x.narrow(1, 0, t - 1);
    }
    x = rmsNorm(x, p("model.norm.weight"), config.rmsNormEps());
    var head = weight(config.tieWordEmbeddings() ? EMBED : LM_HEAD);
    return x.to(compute).matmul(head.t());
  }

  /**
   * Decoder layer {@code i} on the residual stream {@code x} {@code [B, T, hidden]}: attention
   * (appending this layer's keys and values to {@code cache}, if any), then the MLP.
   */
  private Tensor layer(int i, Tensor x, Tensor cos, Tensor sin, KvCache cache, boolean causal) {
    var b = x.size(0);
    var t = x.size(1);
    long hd = config.headDim();
    long nh = config.numHeads();
    long nkv = config.numKvHeads();
    var eps = config.rmsNormEps();
    var pre = "model.layers." + i + ".";
    var h = rmsNorm(x, p(pre + "input_layernorm.weight"), eps);
    var qkv =
        linears(h, pre + "self_attn.q_proj", pre + "self_attn.k_proj", pre + "self_attn.v_proj");
    var q = qkv[0].view(b, t, nh, hd);
    var k = qkv[1].view(b, t, nkv, hd);
    var v = qkv[2].view(b, t, nkv, hd).transpose(1, 2);
    if (config.qkNorm()) {
      q = rmsNorm(q, p(pre + "self_attn.q_norm.weight"), eps);
      k = rmsNorm(k, p(pre + "self_attn.k_norm.weight"), eps);
    }
    q = rope(q.transpose(1, 2).to(compute), cos, sin);
    k = rope(k.transpose(1, 2).to(compute), cos, sin);
    if (cache != null) {
      if (cache.keys[i] != null) {
        k = torch.cat(new TensorVector(cache.keys[i], k), 2);
        v = torch.cat(new TensorVector(cache.values[i], v), 2);
        // The superseded tensors go now: the concatenation above has copied them.
        cache.keys[i].releaseReference();
        cache.values[i].releaseReference();
      }
      k.retainReference();
      v.retainReference();
      cache.keys[i] = k;
      cache.values[i] = v;
    }
    var att =
        torch.scaled_dot_product_attention(
            q,
            k,
            v,
            new TensorOptional(),
            0.0,
            causal,
            new DoubleOptional(1.0 / Math.sqrt(hd)),
            nkv != nh);
    var y = att.transpose(1, 2).reshape(b, t, nh * hd);
    x = x.add(linear(y, pre + "self_attn.o_proj"));
    h = rmsNorm(x, p(pre + "post_attention_layernorm.weight"), eps);
    var gateUp = linears(h, pre + "mlp.gate_proj", pre + "mlp.up_proj");
    var gate = torch.silu(gateUp[0]);
    return x.add(linear(gate.mul(gateUp[1]), pre + "mlp.down_proj"));
  }

  /**
   * Runs {@code body} in a {@link PointerScope} of its own and hands only its result to the
   * caller's scope. The handles of everything else it made are dropped on return, so a tensor that
   * autograd does not save (a cast, a squared activation, the fp32 copy of the logits) goes back to
   * the allocator now rather than when the step's scope closes; what autograd saves it keeps alive
   * by itself. Without a caller's scope (the tensors are the garbage collector's) it just runs
   * {@code body}.
   */
  private static Tensor keepingOnlyResult(Supplier<Tensor> body) {
    var caller = PointerScope.getInnerScope();
    if (caller == null) {
      return body.get();
    }
    try (var own = new PointerScope()) {
      var result = body.get();
      caller.attach(result);
      return result;
    }
  }

  @Override
  public Tensor tokenLogProbs(Tensor tokens) {
    return keepingOnlyResult(
        () -> {
          var t = tokens.size(1);
          // The head runs on positions 0..T-2 only: no [B, T, V] logits to narrow (whose
          // backward would write a zero-filled [B, T, V] gradient).
          var logits = forward(tokens, null, HeadOver.ALL_BUT_LAST).to(torch.ScalarType.Float);
          var targets = tokens.narrow(1, 1, t - 1).unsqueeze(2);
          return logits.log_softmax(2).gather(2, targets).squeeze(2);
        });
  }

  /** Feeds the prompts once (prefill), then one token per call, through a KV cache. */
  @Override
  public Decoding decoding() {
    var cache = new KvCache(config.numLayers());
    return new Decoding() {
      @Override
      public Tensor next(Tensor tokens) {
        return forward(tokens, cache, HeadOver.LAST).squeeze(1).to(torch.ScalarType.Float);
      }

      @Override
      public void close() {
        cache.close();
      }
    };
  }

  /** Prefills the prompts once, then decodes one token per step from the KV cache. */
  @Override
  public Tensor generate(Tensor prompts, int maxNew, double temperature, Generator generator) {
    try (var noGrad = new NoGradGuard();
        var cache = new KvCache(config.numLayers())) {
      var pieces = new TensorVector();
      pieces.push_back(prompts);
      var input = prompts;
      for (var i = 0; i < maxNew; i++) {
        var last = forward(input, cache, HeadOver.LAST).squeeze(1).to(torch.ScalarType.Float);
        var next = pick(last, temperature, generator);
        pieces.push_back(next);
        input = next;
      }
      return torch.cat(pieces, 1);
    }
  }

  /** {@code [B, 1]}: the greedy or sampled next token of {@code [B, V]} logits. */
  static Tensor pick(Tensor last, double temperature, Generator generator) {
    if (temperature == 0) {
      return last.argmax(new LongOptional(1), true);
    }
    var probs = last.div(new Scalar(temperature)).softmax(1);
    return probs.multinomial(1, false, new GeneratorOptional(generator));
  }

  private Tensor p(String name) {
    return params.get(name);
  }

  /**
   * Serving only: from now on, with autograd off, weights are cast to the compute dtype once and
   * the copies reused until the weight changes (its version counter moves, as {@code copy_} of new
   * weights does), rather than cast on every forward pass. Costs one compute-dtype copy of the
   * weights in device memory; a trainer, which needs the cast inside autograd, does not call it.
   */
  public void castWeightsOnce() {
    castOnce = true;
  }

  /**
   * The weights {@code names} in the compute dtype, joined along their output dimension when there
   * are several (one matrix product then computes all their projections).
   */
  private Tensor weight(String... names) {
    if (!castOnce || GradMode.is_enabled()) {
      return castAndJoin(names);
    }
    var key = String.join("+", names);
    var versions = new long[names.length];
    for (var i = 0; i < names.length; i++) {
      versions[i] = p(names[i]).__dispatch__version();
    }
    var cached = castWeights.get(key);
    if (cached != null && Arrays.equals(castVersions.get(key), versions)) {
      return cached;
    }
    var cast = castAndJoin(names);
    cast.retainReference(); // outlives the caller's PointerScope; released when replaced
    if (cached != null) {
      cached.releaseReference();
    }
    castWeights.put(key, cast);
    castVersions.put(key, versions);
    return cast;
  }

  private Tensor castAndJoin(String... names) {
    if (names.length == 1) {
      return p(names[0]).to(compute);
    }
    var parts = new TensorVector();
    for (var name : names) {
      parts.push_back(p(name).to(compute));
    }
    return torch.cat(parts, 0);
  }

  private Tensor linear(Tensor x, String prefix) {
    return linears(x, prefix)[0];
  }

  /**
   * The projections {@code prefixes} of the same input {@code x} (q, k and v; gate and up) as one
   * matrix product over their joined weights, split back: the input is cast once and its gradient
   * comes back in one piece, where separate products would cast it per projection.
   */
  private Tensor[] linears(Tensor x, String... prefixes) {
    var weights = new String[prefixes.length];
    var sizes = new long[prefixes.length];
    var biases = new ArrayList<Tensor>();
    for (var i = 0; i < prefixes.length; i++) {
      weights[i] = prefixes[i] + ".weight";
      sizes[i] = p(weights[i]).size(0);
      var bias = params.get(prefixes[i] + ".bias");
      if (bias != null) {
        biases.add(bias.to(compute));
      }
    }
    var in = x.to(compute);
    var w = weight(weights);
    var out =
        biases.isEmpty()
            ? torch.linear(in, w)
            : torch.linear(
                in,
                w,
                new TensorOptional(
                    biases.size() == 1
                        ? biases.get(0)
                        : torch.cat(new TensorVector(biases.toArray(new Tensor[0])), 0)));
    if (prefixes.length == 1) {
      return new Tensor[] {out};
    }
    var pieces = out.split_with_sizes(sizes, -1);
    var result = new Tensor[prefixes.length];
    for (var i = 0; i < prefixes.length; i++) {
      // A handle of its own: get(i) points into the vector, which may be freed before its use.
      result[i] = new Tensor(pieces.get(i));
    }
    return result;
  }

  /** HF's rotate-half RoPE on {@code [B, H, T, D]} with {@code cos}/{@code sin} {@code [T, D]}. */
  private static Tensor rope(Tensor x, Tensor cos, Tensor sin) {
    var half = x.size(-1) / 2;
    var x1 = x.narrow(-1, 0, half);
    var x2 = x.narrow(-1, half, half);
    var rotated = torch.cat(new TensorVector(x2.neg(), x1), -1);
    return x.mul(cos).add(rotated.mul(sin));
  }

  /** RMSNorm over the last dimension, computed in fp32 and cast back, as HF does. */
  static Tensor rmsNorm(Tensor x, Tensor weight, double eps) {
    var dtype = x.scalar_type();
    var f = x.to(torch.ScalarType.Float);
    var variance = f.pow(new Scalar(2.0)).mean(new long[] {-1}, true, new ScalarTypeOptional());
    var normed = f.mul(variance.add(new Scalar(eps)).rsqrt());
    return weight.mul(normed.to(dtype));
  }
}
