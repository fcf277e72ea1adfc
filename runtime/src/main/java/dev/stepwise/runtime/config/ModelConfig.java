package dev.stepwise.runtime.config;

/** Shape of the decoder-only transformer. */
public record ModelConfig(
    @Doc("Width of the residual stream") @Min(8) @Max(8192) int dModel,
    @Doc("Number of transformer blocks") @Min(1) @Max(128) int nLayers,
    @Doc("Attention heads (must divide d-model)") @Min(1) @Max(128) int nHeads,
    @Doc("Hidden width of the MLP") @Min(8) @Max(65536) int dFf,
    @Doc("Longest sequence (positions) the model supports") @Min(4) @Max(65536) int maxSeqLen) {

  public ModelConfig {
    if (dModel % nHeads != 0) {
      throw new IllegalArgumentException(
          "n-heads (" + nHeads + ") must divide d-model (" + dModel + ")");
    }
  }

  public static ModelConfig defaults() {
    return new ModelConfig(64, 2, 4, 256, 32);
  }
}
