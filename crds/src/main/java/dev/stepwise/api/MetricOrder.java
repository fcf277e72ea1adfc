package dev.stepwise.api;

/** Which end of a metric {@code ckpt.keepBest} keeps. */
public enum MetricOrder {
  /** The lowest values are best (a loss). */
  min,
  /** The highest values are best (an accuracy, a reward). */
  max
}
