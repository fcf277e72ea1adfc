package dev.stepwise.cluster.controlplane;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * The {@code stepwise-controlplane} binary: {@code controlplane/build} builds it from Go modules on
 * first use and caches it by the hash of its sources; this class runs that script and returns the
 * path it prints. The script is the one home of the cache key.
 */
public final class ControlPlaneBinary {

  private static final long BUILD_TIMEOUT_MINUTES = 30;

  private ControlPlaneBinary() {}

  /** The binary for the sources under {@code repo/controlplane}, built if it is not cached. */
  public static Path resolve(Path repo) throws IOException {
    var script = repo.resolve("controlplane/build");
    if (!Files.isExecutable(script)) {
      throw new IOException("no control-plane build script at " + script);
    }
    var process =
        new ProcessBuilder(script.toString())
            .redirectError(ProcessBuilder.Redirect.INHERIT)
            .start();
    try {
      var out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
      if (!process.waitFor(BUILD_TIMEOUT_MINUTES, TimeUnit.MINUTES)) {
        process.destroyForcibly();
        throw new IOException(script + " did not finish in " + BUILD_TIMEOUT_MINUTES + " min");
      }
      if (process.exitValue() != 0) {
        throw new IOException(
            script + " failed with exit code " + process.exitValue() + " (its output is above)");
      }
      var binary = Path.of(out);
      if (!Files.isExecutable(binary)) {
        throw new IOException(script + " printed " + out + ", which is not an executable");
      }
      return binary;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
      throw new IOException("interrupted while building the control plane", e);
    }
  }

  /**
   * The checkout's root: the system property {@code stepwise.repo}, else the nearest directory
   * upwards from the working directory that holds {@code controlplane/build}.
   */
  public static Path repo() throws IOException {
    var property = System.getProperty("stepwise.repo");
    if (property != null) {
      return Path.of(property).toAbsolutePath().normalize();
    }
    for (var dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      if (Files.exists(dir.resolve("controlplane/build"))) {
        return dir;
      }
    }
    throw new IOException(
        "cannot find the Stepwise checkout (no controlplane/build above "
            + Path.of("").toAbsolutePath()
            + "); set -Dstepwise.repo");
  }
}
