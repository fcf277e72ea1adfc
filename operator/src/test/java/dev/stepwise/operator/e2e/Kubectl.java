package dev.stepwise.operator.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.stepwise.cluster.LocalCluster;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** The real {@code kubectl} against the local cluster, as the README tells a user to type it. */
final class Kubectl {

  private final LocalCluster cluster;
  private final String namespace;
  private final Duration timeout;

  Kubectl(LocalCluster cluster, String namespace, Duration timeout) {
    this.cluster = cluster;
    this.namespace = namespace;
    this.timeout = timeout;
  }

  /** Runs {@code kubectl args...} in the namespace; fails with its output unless it exits 0. */
  String run(String... args) throws IOException, InterruptedException {
    var command = new ArrayList<String>();
    command.add("kubectl");
    command.add("--namespace=" + namespace);
    command.addAll(List.of(args));
    var builder = new ProcessBuilder(command).redirectErrorStream(true);
    builder.environment().put("KUBECONFIG", cluster.kubeconfig().toString());
    Process process;
    try {
      process = builder.start();
    } catch (IOException e) {
      throw new AssertionError(
          "kubectl is not on PATH: this test runs the README's commands with the real kubectl", e);
    }
    var out = process.getInputStream().readAllBytes();
    if (!process.waitFor(timeout.toSeconds() + 30, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new AssertionError("kubectl " + String.join(" ", args) + " did not finish");
    }
    var text = new String(out, StandardCharsets.UTF_8);
    // kubectl 1.32 warns about its version skew to a 1.37 server; the warning is not output.
    text =
        String.join(
            "\n", text.lines().filter(l -> !l.startsWith("Warning: version difference")).toList());
    assertEquals(
        0,
        process.exitValue(),
        () ->
            "kubectl "
                + String.join(" ", args)
                + " failed:\n"
                + new String(out, StandardCharsets.UTF_8)
                + "\n"
                + cluster.kubelet().logTails(namespace, 20));
    return text.strip();
  }
}
