package dev.stepwise.runtime.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.runtime.checkpoint.CheckpointWriter;
import dev.stepwise.runtime.checkpoint.RunLayout;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointCommandTest {

  @TempDir Path run;

  private int main(ByteArrayOutputStream out, ByteArrayOutputStream err, String... args) {
    return Main.run(List.of(args), new PrintStream(out, true), new PrintStream(err, true));
  }

  /** {@code checkpoint delete --step 4 --timeline <timeline>}: its exit status. */
  private int deleteStep(
      ByteArrayOutputStream out, ByteArrayOutputStream err, String dir, long timeline) {
    return main(
        out,
        err,
        "checkpoint",
        "delete",
        "--output-dir",
        dir,
        "--step",
        "4",
        "--timeline",
        Long.toString(timeline));
  }

  @Test
  void deleteRemovesTheStepDirectoryAndIsIdempotent() throws IOException {
    var layout = new RunLayout(run);
    new CheckpointWriter(layout)
        .write(
            4,
            1,
            2,
            Map.of(
                "trainer",
                List.of(
                    new CheckpointWriter.ComponentFile(
                        "a.bin", o -> o.write(ByteBuffer.wrap(new byte[] {1}))))));
    var out = new ByteArrayOutputStream();
    var err = new ByteArrayOutputStream();
    var dir = run.toString();
    assertEquals(0, deleteStep(out, err, dir, 1));
    assertTrue(Files.exists(layout.manifest(4)), "another timeline's step 4 is left alone: " + out);
    assertEquals(0, deleteStep(out, err, dir, 2));
    assertFalse(Files.exists(layout.stepDir(4)), out.toString());
    assertEquals(0, main(out, err, "checkpoint", "delete", "--output-dir", dir, "--step", "4"));
    assertTrue(out.toString().contains("nothing to delete"), out.toString());
  }

  @Test
  void badUsageNamesTheFlag() {
    var out = new ByteArrayOutputStream();
    var err = new ByteArrayOutputStream();
    assertEquals(Main.USAGE, main(out, err, "checkpoint", "delete", "--step", "x"));
    assertTrue(err.toString().contains("--step"), err.toString());
    assertEquals(Main.USAGE, main(out, err, "checkpoint", "delete", "--output-dir", "d"));
    assertTrue(err.toString().contains("--step: required"), err.toString());
  }

  @Test
  void exportBadUsageNamesTheFlag() {
    // arguments after "checkpoint export" -> what the error says
    var cases =
        List.of(
            List.of("a", "b", "--format: expected 'hf', got nothing"),
            List.of("--format", "onnx", "a", "b", "--format: 'format' must be one of hf"),
            List.of("--format", "hf", "a", "export: expected STEP_DIR and OUT"),
            List.of("--format", "hf", "a", "b", "c", "c: unexpected argument"),
            List.of("--max-shard-bytes", "-1", "a", "b", "--max-shard-bytes"));
    for (var c : cases) {
      var out = new ByteArrayOutputStream();
      var err = new ByteArrayOutputStream();
      var args = new ArrayList<>(List.of("checkpoint", "export"));
      args.addAll(c.subList(0, c.size() - 1));
      assertEquals(Main.USAGE, main(out, err, args.toArray(String[]::new)), args.toString());
      assertTrue(err.toString().contains(c.get(c.size() - 1)), err.toString());
    }
  }
}
