package dev.stepwise.runtime.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.runtime.checkpoint.CheckpointWriter.ComponentFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Per-file checksums: CRC32C by default, SHA-256 on request, format-1 manifests (SHA-256 only)
 * still verified, and every kind catching a flipped bit; tensors read straight into live memory; an
 * aborted save leaves no manifest.
 */
class ChecksumTest {

  @TempDir Path dir;

  private static TreeMap<String, Tensor> tensors() {
    torch.manual_seed(3);
    var t = new TreeMap<String, Tensor>();
    // 3 MiB and a few bytes: read and checksummed across several 1 MiB slices.
    t.put("big", torch.randn(3 << 18));
    t.put("small", torch.randn(5));
    return t;
  }

  private static Map<String, List<ComponentFile>> component(TreeMap<String, Tensor> tensors) {
    return Map.of(
        RunLayout.TRAINER,
        List.of(
            new ComponentFile(
                "model.safetensors", out -> Safetensors.write(out, tensors, Map.of())),
            new ComponentFile("progress.json", AtomicFiles.Body.of("{\"step\":1}".getBytes()))));
  }

  @Test
  void crc32cByDefaultSha256OnRequestBothVerified() throws IOException {
    var tensors = tensors();
    for (var checksum : Checksum.values()) {
      var layout = new RunLayout(dir.resolve(checksum.name()));
      var manifest =
          new CheckpointWriter(layout)
              .withChecksum(checksum)
              .withIoThreads(2)
              .write(1, 1, component(tensors));
      var entry = manifest.components().get(RunLayout.TRAINER).files().get(0);
      var file = layout.stepDir(1).resolve(entry.path());
      var bytes = Files.readAllBytes(file);
      assertEquals(checksum, entry.checksum());
      if (checksum == Checksum.SHA256) {
        assertEquals(HexFormat.of().formatHex(AtomicFiles.sha256().digest(bytes)), entry.sha256());
        assertNull(entry.crc32c());
      } else {
        var crc = new java.util.zip.CRC32C();
        crc.update(bytes);
        assertEquals(String.format("%08x", crc.getValue()), entry.crc32c());
        assertNull(entry.sha256());
      }
      var listing = layout.manifest(1);
      var read = VerifiedFiles.readTensors(file, entry, listing).tensors();
      assertTrue(tensors.get("big").equal(read.get("big")));

      bytes[bytes.length - 3] ^= 4;
      Files.write(file, bytes);
      var corrupt =
          assertThrows(
              CheckpointException.class, () -> VerifiedFiles.readTensors(file, entry, listing));
      assertTrue(corrupt.getMessage().contains("corrupt"), corrupt.getMessage());
    }
  }

  @Test
  void aFormatOneManifestWithSha256OnlyStillLoads() throws IOException {
    var layout = new RunLayout(dir);
    var body = "{\"step\":7}".getBytes();
    Files.createDirectories(layout.componentDir(7, RunLayout.TRAINER));
    Files.write(layout.componentDir(7, RunLayout.TRAINER).resolve("progress.json"), body);
    var sha = HexFormat.of().formatHex(AtomicFiles.sha256().digest(body));
    Files.writeString(
        layout.manifest(7),
        """
        {"format": "stepwise-checkpoint", "format_version": 1, "step": 7, "world_size": 1,
         "created": "2026-11-01T00:00:00Z", "timeline": 0,
         "components": {"trainer": {"files": [
           {"path": "trainer/progress.json", "size": %d, "sha256": "%s"}]}}}
        """
            .formatted(body.length, sha));
    var store = new CheckpointStore(layout);
    assertEquals(List.of(7L), store.completeSteps());
    var entry = store.manifest(7).components().get(RunLayout.TRAINER).files().get(0);
    assertEquals(Checksum.SHA256, entry.checksum());
    var file = layout.stepDir(7).resolve(entry.path());
    assertEquals(
        "{\"step\":7}",
        new String(VerifiedFiles.readBytes(file, entry, layout.manifest(7))),
        "verified with its SHA-256");
    Files.write(file, "{\"step\":8}".getBytes());
    assertThrows(
        CheckpointException.class, () -> VerifiedFiles.readBytes(file, entry, layout.manifest(7)));
  }

  @Test
  void anEntryWithoutAnyChecksumIsRefusedByName() {
    var entry = new Manifest.FileEntry("trainer/x.bin", 3, null, null);
    var e = assertThrows(CheckpointException.class, entry::checksum);
    assertTrue(e.getMessage().contains("trainer/x.bin"), e.getMessage());
  }

  @Test
  void tensorsAreReadStraightIntoMatchingLiveTensors() throws IOException {
    var tensors = tensors();
    var file = dir.resolve("t.safetensors");
    var written =
        AtomicFiles.write(file, out -> Safetensors.write(out, tensors, Map.of("format", "pt")));
    var live = torch.zeros(3 << 18);
    var wrongShape = torch.zeros(6);
    var targets = Map.of("big", live, "small", wrongShape);
    var read =
        VerifiedFiles.readTensorsInto(file, written.entry("t.safetensors"), dir, targets).tensors();
    assertSame(live, read.get("big"), "read in place");
    assertTrue(tensors.get("big").equal(live));
    assertFalse(read.get("small") == wrongShape, "a mismatched target gets a new tensor");
    assertTrue(tensors.get("small").equal(read.get("small")));
    assertEquals(0.0, wrongShape.abs().sum().item_double(), "and is left alone");
  }

  @Test
  void anAbortedSaveStopsBeforeItsManifest() throws IOException {
    var layout = new RunLayout(dir);
    var abort = new AtomicBoolean();
    var writer = new CheckpointWriter(layout, file -> abort.set(true)).withAbort(abort::get);
    assertThrows(CheckpointAbortedException.class, () -> writer.write(3, 1, component(tensors())));
    assertFalse(Files.exists(layout.manifest(3)), "no manifest: not a checkpoint");
    assertTrue(new CheckpointStore(layout).completeSteps().isEmpty());
  }
}
