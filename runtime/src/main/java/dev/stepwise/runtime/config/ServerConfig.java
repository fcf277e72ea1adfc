package dev.stepwise.runtime.config;

/** The inference HTTP server. */
public record ServerConfig(
    @Doc("Address to listen on") String host,
    @Doc("Port to listen on (0 = any free port)") @Min(0) @Max(65535) int port,
    @Doc("Most completions generated in one request (prompts x n)") @Min(1) @Max(65536)
        int maxCompletions) {

  public static ServerConfig defaults() {
    return new ServerConfig("0.0.0.0", 8000, 4096);
  }
}
