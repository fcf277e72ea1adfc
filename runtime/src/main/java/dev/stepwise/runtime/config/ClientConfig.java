package dev.stepwise.runtime.config;

/** How the orchestrator reaches the inference server. */
public record ClientConfig(
    @Doc("Base URL of the OpenAI-compatible inference server") String baseUrl,
    @Doc("Timeout of one request, in seconds") @Min(value = 0, exclusive = true) double timeout) {

  public ClientConfig {
    if (baseUrl == null || !(baseUrl.startsWith("http://") || baseUrl.startsWith("https://"))) {
      throw new IllegalArgumentException(
          "base-url must be an http:// or https:// URL, got '" + baseUrl + "'");
    }
  }

  public static ClientConfig defaults() {
    return new ClientConfig("http://localhost:8000", 300);
  }
}
