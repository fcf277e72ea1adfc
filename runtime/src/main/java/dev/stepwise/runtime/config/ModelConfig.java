package dev.stepwise.runtime.config;

/**
 * The model: the byte-level toy transformer's shape, or a Hugging Face model directory ({@code hf})
 * whose {@code config.json} fixes the shape and whose {@code tokenizer.json} the text.
 */
public record ModelConfig(
    @Doc("Width of the residual stream") @Min(8) @Max(8192) int dModel,
    @Doc("Number of transformer blocks") @Min(1) @Max(128) int nLayers,
    @Doc("Attention heads (must divide d-model)") @Min(1) @Max(128) int nHeads,
    @Doc("Hidden width of the MLP") @Min(8) @Max(65536) int dFf,
    @Doc("Longest sequence (positions) the model supports") @Min(4) @Max(65536) int maxSeqLen,
    @Doc(
            "A Hugging Face model directory (config.json, tokenizer.json, model.safetensors or"
                + " its shard index; Qwen3 or Llama); when set, the shape keys above are unused")
        String hf,
    @Doc("With hf: start from random weights (seeded) when the directory holds none")
        boolean randomInit) {

  public ModelConfig {
    if (dModel % nHeads != 0) {
      throw new IllegalArgumentException(
          "n-heads (" + nHeads + ") must divide d-model (" + dModel + ")");
    }
    if (hf != null && hf.isBlank()) {
      throw new IllegalArgumentException("hf must name a model directory");
    }
  }

  /** The byte-level toy transformer of this shape. */
  public ModelConfig(int dModel, int nLayers, int nHeads, int dFf, int maxSeqLen) {
    this(dModel, nLayers, nHeads, dFf, maxSeqLen, null, false);
  }

  public static ModelConfig defaults() {
    return new ModelConfig(64, 2, 4, 256, 32);
  }

  /** Whether this names a Hugging Face model directory rather than the toy transformer. */
  public boolean isHf() {
    return hf != null;
  }
}
