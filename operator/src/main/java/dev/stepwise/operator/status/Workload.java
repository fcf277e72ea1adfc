package dev.stepwise.operator.status;

/** One workload of a run as observed: how many pods it should have and how many are ready. */
public record Workload(String role, int desired, int ready) {

  public boolean isReady() {
    return ready >= desired;
  }

  @Override
  public String toString() {
    return role + " " + ready + "/" + desired;
  }
}
