package dev.stepwise.operator.e2e;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.cluster.LocalCluster;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The README's flow, typed as a user types it, with the real {@code kubectl} against the local
 * cluster: apply examples/sft-run.yaml, wait for Succeeded, list the Checkpoints, resume by patch
 * to a later maxSteps, wait again, delete the run and see its objects go.
 */
class KubectlFlowE2E {

  private static final String NS = "e2e-kubectl";
  private static final Duration STEP = Duration.ofMinutes(4);

  private LocalCluster cluster;

  @Test
  void readmeFlowWithKubectl() throws Exception {
    cluster = RealCluster.get();
    RealCluster.namespace(NS);
    var examples = Path.of(System.getProperty("stepwise.examples", "../examples"));

    var started = System.nanoTime();
    assertTrue(
        kubectl("apply", "-f", examples.resolve("sft-run.yaml").toString())
            .contains("trainingrun.stepwise.dev/reverse-text created"));
    kubectl(
        "wait",
        "trainingrun/reverse-text",
        "--for=jsonpath={.status.phase}=Succeeded",
        "--timeout=" + STEP.toSeconds() + "s");
    var trained = (System.nanoTime() - started) / 1e9;
    var runs = kubectl("get", "tr");
    assertTrue(runs.contains("reverse-text") && runs.contains("Succeeded"), runs);
    awaitCheckpoints(
        List.of("300", "500", "600"), "examples/sft-run.yaml: keep 2, keepEvery 300, keepBest 1");

    kubectl(
        "patch",
        "tr",
        "reverse-text",
        "--type",
        "merge",
        "-p",
        "{\"spec\":{\"resumeStep\":500,\"maxSteps\":700}}");
    kubectl(
        "wait",
        "trainingrun/reverse-text",
        "--for=jsonpath={.status.latestCheckpoint}=700",
        "--timeout=" + STEP.toSeconds() + "s");
    var resumed = kubectl("get", "tr", "reverse-text", "-o", "jsonpath={.status.resumedFrom}");
    assertEquals("500", resumed);
    kubectl(
        "wait",
        "trainingrun/reverse-text",
        "--for=jsonpath={.status.phase}=Succeeded",
        "--timeout=" + STEP.toSeconds() + "s");
    awaitCheckpoints(
        List.of("300", "500", "600", "700"),
        "keep 2 after the resume, 300 and 600 (keepEvery), plus 500 it resumed from");

    kubectl("delete", "tr", "reverse-text", "--wait=true", "--timeout=" + STEP.toSeconds() + "s");
    kubectl("wait", "pvc/reverse-text-data", "--for=delete", "--timeout=" + STEP.toSeconds() + "s");
    assertEquals(
        "",
        kubectl(
            "get",
            "ckpt,sts,deploy,svc,pvc,cm,sa,role,rolebinding",
            "-l",
            "stepwise.dev/training-run=reverse-text",
            "--no-headers",
            "--ignore-not-found"));
    System.out.printf(
        "BENCHMARK kubectl-flow-e2e: examples/sft-run.yaml applied -> Succeeded (600 steps) in"
            + " %.1f s on the local cluster%n",
        trained);
  }

  /**
   * Waits (bounded) until {@code kubectl get ckpt} lists {@code steps} plus, at most, the one
   * keepBest keeps for its held-out accuracy (the highest EVAL ACC listed), and nothing else.
   */
  private void awaitCheckpoints(List<String> steps, String what) {
    await()
        .alias(what)
        .atMost(STEP)
        .pollInterval(Duration.ofMillis(500))
        .until(
            () ->
                lines(
                    kubectl(
                        "get",
                        "ckpt",
                        "-o",
                        "custom-columns=STEP:.spec.step,ACC:.status.metrics.evalAccuracy",
                        "--no-headers")),
            listed -> keptBy(listed, steps));
  }

  /** {@code listed} ("step accuracy" lines) is {@code steps} plus at most the most accurate one. */
  private static boolean keptBy(List<String> listed, List<String> steps) {
    var accuracy = new java.util.TreeMap<String, Double>();
    for (var line : listed) {
      var fields = line.split("\\s+");
      accuracy.put(fields[0], fields[1].equals("<none>") ? -1 : Double.parseDouble(fields[1]));
    }
    var extra = new java.util.TreeSet<>(accuracy.keySet());
    extra.removeAll(steps);
    if (!accuracy.keySet().containsAll(steps) || extra.size() > 1) {
      return false;
    }
    var best = accuracy.values().stream().mapToDouble(Double::doubleValue).max().orElse(-1);
    return extra.isEmpty() || accuracy.get(extra.first()) == best;
  }

  private static List<String> lines(String text) {
    return text.lines().map(String::strip).filter(l -> !l.isEmpty()).sorted().toList();
  }

  private String kubectl(String... args) throws IOException, InterruptedException {
    return new Kubectl(cluster, NS, STEP).run(args);
  }
}
