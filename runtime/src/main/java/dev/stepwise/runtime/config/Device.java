package dev.stepwise.runtime.config;

/** Where tensors live. */
public enum Device {
  CPU,
  CUDA
}
