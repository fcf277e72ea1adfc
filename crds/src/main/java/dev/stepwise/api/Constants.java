package dev.stepwise.api;

/** API group and version shared by every Stepwise kind. */
public final class Constants {

  public static final String GROUP = "stepwise.dev";
  public static final String VERSION = "v1alpha1";

  private Constants() {}
}
