package dev.stepwise.operator;

/** The roles of a run: its component label values and the names of their TOML files. */
public enum Roles {
  TRAINER("trainer"),
  ORCHESTRATOR("orchestrator"),
  INFERENCE("inference");

  private final String id;

  Roles(String id) {
    this.id = id;
  }

  /** Value of the app.kubernetes.io/component label and of the container name. */
  public String id() {
    return id;
  }

  /** Key of this role's TOML in the run's ConfigMap, and its file name under the config dir. */
  public String configFile() {
    return id + ".toml";
  }
}
