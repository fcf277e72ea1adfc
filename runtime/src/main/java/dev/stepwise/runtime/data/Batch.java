package dev.stepwise.runtime.data;

import org.bytedeco.pytorch.Tensor;

/**
 * One training batch: token ids {@code [B, T]}, a loss mask {@code [B, T-1]} over next-token
 * positions, and counts for the progress record.
 */
public record Batch(
    Tensor tokens, Tensor lossMask, int samples, long tokenCount, long lossTokens) {}
