package dev.stepwise.runtime.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.runtime.checkpoint.CheckpointStore;
import dev.stepwise.runtime.checkpoint.CheckpointWriter;
import dev.stepwise.runtime.checkpoint.RunLayout;
import dev.stepwise.runtime.log.LogCapture;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the operator's pods run: --ckpt.timeline T --ckpt.recover, retention external. */
class TimelineRecoveryTest {

  @TempDir Path run;

  private String train(String... flags) {
    try (var log = LogCapture.start()) {
      new SftTrainer(SftTrainerTest.config(run, flags), CheckpointWriter.FileListener.NONE).run();
      return log.out();
    }
  }

  @Test
  void aRestartedPodRecoversOnItsTimelineAndAResumeStartsANewOne() {
    var pod =
        new String[] {"--ckpt.interval", "2", "--ckpt.retention", "external", "--ckpt.recover"};
    train(concat(pod, "--max-steps", "6", "--ckpt.timeline", "0"));
    var again = train(concat(pod, "--max-steps", "6", "--ckpt.timeline", "0"));
    assertTrue(again.contains("step 6 is already complete"), again);

    var resumed =
        train(concat(pod, "--max-steps", "4", "--ckpt.timeline", "3", "--ckpt.resume-step", "2"));
    assertTrue(resumed.contains("step_2 (step 2"), "a new timeline starts at the resume step");
    var store = new CheckpointStore(new RunLayout(run));
    assertEquals(3, store.manifest(4).timeline(), "step 4 was replaced by timeline 3");
    assertEquals(0, store.manifest(6).timeline(), "step 6 belongs to the abandoned timeline");

    var recovered =
        train(concat(pod, "--max-steps", "8", "--ckpt.timeline", "3", "--ckpt.resume-step", "2"));
    assertTrue(
        recovered.contains("step_4 (step 4"),
        "recovery continues from timeline 3's newest checkpoint, never from step 6\n" + recovered);
    assertEquals(3, store.manifest(6).timeline());
    assertEquals(3, store.manifest(8).timeline());
  }

  private static String[] concat(String[] a, String... b) {
    var all = new String[a.length + b.length];
    System.arraycopy(a, 0, all, 0, a.length);
    System.arraycopy(b, 0, all, a.length, b.length);
    return all;
  }
}
