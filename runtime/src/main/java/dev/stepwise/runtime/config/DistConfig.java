package dev.stepwise.runtime.config;

/**
 * Data-parallel training. Ranks and the rendezvous come from the environment (RANK, WORLD_SIZE,
 * MASTER_ADDR, MASTER_PORT); this section only bounds how long a rank waits for its peers.
 */
public record DistConfig(
    @Doc("Seconds a collective or the rendezvous may wait for a peer before this rank exits")
        @Min(1)
        @Max(86400)
        int timeoutSeconds) {

  public static DistConfig defaults() {
    return new DistConfig(60);
  }
}
