package dev.stepwise.operator.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.api.RunPhase;
import dev.stepwise.cluster.controlplane.AuditLog;
import dev.stepwise.operator.Fixtures;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchService;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * A fault: the trainer's process SIGKILLed at the two moments a checkpoint is most fragile,
 * alternately (seeded: {@code -Dstepwise.fault.seed} replays, {@code -Dstepwise.fault.kills} sets
 * how many): while a save is in flight (its step directory exists, its {@code manifest.json} does
 * not) and right after its manifest is written, while the runtime's reporter creates its Checkpoint
 * on a background thread. The moments come from watching the run volume (inotify), not from sleeps.
 * Each restart resumes from the newest complete checkpoint on the volume, never from a directory
 * without a manifest; the Checkpoint of every step whose manifest was written before a kill appears
 * afterwards (the reporter resyncs on start), none twice; the run Succeeds with its Ready
 * Checkpoints exactly its complete checkpoints.
 */
class TrainerKillE2E {

  private static final String NS = "e2e-trainerkill";
  private static final String RUN = "ckpt-kill";
  private static final String POD = RUN + "-trainer-0";
  private static final Duration WAIT = Duration.ofMinutes(5);
  private static final long INTERVAL = 50;
  private static final Pattern RESUMED = Pattern.compile("resumed from \\S*step_(\\d+)");

  /** What a kill hit, seen on the volume and the API once the process was dead. */
  private record Kill(
      String moment, long step, boolean manifest, boolean reported, long newest, long resumed) {

    @Override
    public String toString() {
      return "%s step %d (manifest %s, Checkpoint %s at the kill) -> resumed from %d"
          .formatted(
              moment,
              step,
              manifest ? "written" : "absent",
              reported ? "there" : "absent",
              resumed);
    }
  }

  @Test
  void aTrainerKilledMidSaveOrMidReportResumesFromTheNewestCompleteCheckpointAndLosesNone()
      throws Exception {
    var seed = Long.getLong("stepwise.fault.seed", System.nanoTime());
    var kills = Integer.getInteger("stepwise.fault.kills", 4);
    var random = new Random(seed);
    System.out.printf("trainer-kill-e2e: seed %d, %d kills%n", seed, kills);
    var cluster = RealCluster.get();
    RealCluster.namespace(NS);
    var client = cluster.client();
    var kubelet = cluster.kubelet();
    var run = Fixtures.example("sft-run.yaml", NS);
    run.getMetadata().setName(RUN);
    run.getSpec().setMaxSteps(400L + 150L * kills);
    run.getSpec().getCkpt().setInterval((int) INTERVAL);
    run.getSpec()
        .getCkpt()
        .setKeep(100); // keep all: each complete checkpoint must get its resource
    run.getSpec()
        .getTrainer()
        .setConfig(run.getSpec().getTrainer().getConfig().replace("samples = 256", "samples = 0"));
    var tr = new E2eRun(client, NS, RUN, WAIT, () -> kubelet.logTails(NS, 30) + seedNote(seed));
    var audit = new AuditLog(cluster.controlPlane().auditLog()).mark();
    client.resource(run).create();
    tr.awaitTrue(() -> !tr.readySteps().isEmpty(), "a first Ready checkpoint");
    var runDir = kubelet.claimDirectory(NS, RUN + "-data");
    var checkpoints = runDir.resolve("checkpoints");

    var done = new ArrayList<Kill>();
    var start = System.nanoTime();
    try (var watcher = FileSystems.getDefault().newWatchService()) {
      checkpoints.register(watcher, StandardWatchEventKinds.ENTRY_CREATE);
      for (int k = 0; k < kills; k++) {
        var midSave = k % 2 == 0;
        // A step whose directory does not exist yet: its save has not begun.
        var target = (newestDir(checkpoints) / INTERVAL + 1) * INTERVAL;
        var stepDir = checkpoints.resolve("step_" + target);
        // Read before the moment, not between it and the kill: with the pod's log read in between,
        // a small model's save often finished first and a mid-save kill landed after the manifest.
        var starts = starts(kubelet.logs(NS, POD));
        var pid = kubelet.processes(NS).get(POD).pid();
        awaitCreated(watcher, checkpoints, stepDir, tr);
        if (midSave) {
          LockSupport.parkNanos(random.nextInt(1_000_000)); // 0-1 ms into the save
        } else {
          try (var inDir = FileSystems.getDefault().newWatchService()) {
            stepDir.register(inDir, StandardWatchEventKinds.ENTRY_CREATE);
            awaitCreated(inDir, stepDir, stepDir.resolve("manifest.json"), tr);
          }
          LockSupport.parkNanos(random.nextInt(40_000_000)); // 0-40 ms into the report
        }
        kubelet.kill(NS, POD);
        // Once the process is gone, the volume holds what it left.
        tr.awaitTrue(
            () -> ProcessHandle.of(pid).map(p -> !p.isAlive()).orElse(true), "the trainer dead");
        var manifest = Files.exists(stepDir.resolve("manifest.json"));
        var reported = tr.checkpoint(target) != null;
        var complete = E2eRun.completeSteps(runDir);
        var newest = complete.get(complete.size() - 1);
        tr.awaitTrue(
            () -> starts(kubelet.logs(NS, POD)) > starts && lastResume(kubelet.logs(NS, POD)) > 0,
            "the restarted trainer resumed");
        var resumed = lastResume(kubelet.logs(NS, POD));
        var kill =
            new Kill(
                midSave ? "mid-save" : "after-manifest",
                target,
                manifest,
                reported,
                newest,
                resumed);
        System.out.println("trainer-kill-e2e: kill " + (k + 1) + ": " + kill);
        done.add(kill);
        assertEquals(
            newest,
            resumed,
            "kill "
                + kill
                + ": resumed from the newest complete checkpoint "
                + complete
                + seedNote(seed));
        assertTrue(
            Files.exists(checkpoints.resolve("step_" + resumed).resolve("manifest.json")),
            "resumed from a checkpoint with its manifest");
      }
    }
    var lastKill = System.nanoTime();

    tr.awaitStatus(
        t -> t.getStatus().getPhase() == RunPhase.Succeeded, "Succeeded after the kills");
    tr.awaitTrue(
        () -> tr.readySteps().equals(E2eRun.completeSteps(runDir)),
        "Ready Checkpoints == complete checkpoints on the volume");
    var ready = tr.readySteps();
    for (var kill : done) {
      if (kill.manifest()) {
        assertTrue(
            ready.contains(kill.step()),
            "the Checkpoint of step " + kill.step() + " (manifest before the kill) " + ready);
      }
    }
    var perStep =
        tr.checkpoints().stream()
            .collect(Collectors.groupingBy(c -> c.getSpec().getStep(), Collectors.counting()));
    assertEquals(
        Map.of(),
        perStep.entrySet().stream()
            .filter(e -> e.getValue() > 1)
            .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue)),
        "steps with more than one Checkpoint");
    var created =
        audit.take().stream()
            .filter(r -> "checkpoints".equals(r.resource()) && NS.equals(r.namespace()))
            .filter(r -> "create".equals(r.verb()) && r.code() == 201)
            .collect(Collectors.groupingBy(AuditLog.Request::name, Collectors.counting()));
    assertEquals(
        List.of(),
        created.entrySet().stream().filter(e -> e.getValue() > 1).map(Map.Entry::getKey).toList(),
        "Checkpoints created more than once");
    assertTrue(
        done.stream().anyMatch(k -> !k.manifest()) || kills < 2,
        "at least one kill landed before a manifest: " + done + seedNote(seed));
    var restarts = tr.get().getStatus().getRestarts();
    assertTrue(restarts != null && restarts >= kills, "restarts counted: " + restarts);
    System.out.printf(
        "BENCHMARK FAULT trainer-kill-e2e: seed %d; %d SIGKILLs of the trainer over %.1f s: %s;"
            + " every restart resumed from the newest complete checkpoint; of %d checkpoints"
            + " whose manifest preceded a kill, %d had no Checkpoint yet and got it afterwards; %d Ready == complete on the"
            + " volume, none twice; run Succeeded %.1f s after the last kill%n",
        seed,
        kills,
        (lastKill - start) / 1e9,
        done,
        done.stream().filter(Kill::manifest).count(),
        done.stream().filter(k -> k.manifest() && !k.reported()).count(),
        ready.size(),
        (System.nanoTime() - lastKill) / 1e9);
  }

  /** The newest step directory in {@code checkpoints}, complete or not (0 when none). */
  private static long newestDir(Path checkpoints) throws Exception {
    try (var list = Files.list(checkpoints)) {
      return list.map(p -> p.getFileName().toString())
          .filter(n -> n.matches("step_[0-9]+"))
          .mapToLong(n -> Long.parseLong(n.substring(5)))
          .max()
          .orElse(0);
    }
  }

  /** Waits (bounded) for {@code path}, a child of the watched {@code dir}, to be created. */
  private static void awaitCreated(WatchService watcher, Path dir, Path path, E2eRun tr)
      throws Exception {
    var deadline = System.nanoTime() + WAIT.toNanos();
    while (!Files.exists(path)) {
      var key = watcher.poll(200, TimeUnit.MILLISECONDS);
      if (key != null) {
        var created =
            key.pollEvents().stream().anyMatch(e -> dir.resolve((Path) e.context()).equals(path));
        key.reset();
        if (created) {
          return;
        }
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("no " + path + " in " + WAIT);
      }
      if (tr.get().getStatus() != null && tr.get().getStatus().getPhase() == RunPhase.Succeeded) {
        throw new AssertionError("the run ended before " + path + ": too few steps for the kills");
      }
    }
  }

  /** How often the trainer pod's container started, from its log's headers. */
  private static long starts(String log) {
    return log.lines().filter(l -> l.startsWith("--- pod " + POD + " start #")).count();
  }

  /** The step the trainer's latest start resumed from, or -1. */
  private static long lastResume(String log) {
    var header = log.lastIndexOf("--- pod " + POD + " start #");
    var matcher = RESUMED.matcher(header < 0 ? log : log.substring(header));
    return matcher.find() ? Long.parseLong(matcher.group(1)) : -1;
  }

  private static String seedNote(long seed) {
    return "\n(replay with -Dstepwise.fault.seed=" + seed + ")";
  }
}
