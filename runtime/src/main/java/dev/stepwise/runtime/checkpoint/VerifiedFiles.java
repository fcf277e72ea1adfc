package dev.stepwise.runtime.checkpoint;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;

/**
 * Reads files back checked against the size and checksum (CRC32C or SHA-256) that a listing ({@code
 * manifest.json}, a part marker, {@code published.json}) recorded for them; a mismatch is a {@link
 * CheckpointException} naming the file and the listing.
 */
public final class VerifiedFiles {

  private VerifiedFiles() {}

  /** The entry of {@code path} among {@code files}, the contents of {@code listing}. */
  public static Manifest.FileEntry entry(
      List<Manifest.FileEntry> files, String path, Path listing) {
    return files.stream()
        .filter(f -> f.path().equals(path))
        .findFirst()
        .orElseThrow(() -> new CheckpointException(listing + " lists no " + path));
  }

  /** The bytes of {@code file}, checked against its {@code entry} in {@code listing}. */
  public static byte[] readBytes(Path file, Manifest.FileEntry entry, Path listing)
      throws IOException {
    requirePresent(file, listing);
    var bytes = Files.readAllBytes(file);
    check(file, entry, bytes.length, entry.checksum().hex(bytes), listing);
    return bytes;
  }

  /**
   * The tensors of safetensors {@code file}, checked against its {@code entry} in {@code listing}.
   */
  public static Safetensors.Contents readTensors(Path file, Manifest.FileEntry entry, Path listing)
      throws IOException {
    return readTensorsInto(file, entry, listing, Map.of());
  }

  /**
   * The tensors of safetensors {@code file}, checked against its {@code entry} in {@code listing},
   * each read straight into the tensor of the same name in {@code targets} where that one is a
   * contiguous CPU tensor of the same dtype and shape (no copy; the returned map holds the target
   * then), else into a new tensor. On a checksum mismatch the targets may hold some of the file's
   * bytes: the caller must not use them.
   */
  public static Safetensors.Contents readTensorsInto(
      Path file, Manifest.FileEntry entry, Path listing, Map<String, Tensor> targets)
      throws IOException {
    requirePresent(file, listing);
    var digest = entry.checksum().start();
    var contents = Safetensors.read(file, digest, targets);
    check(file, entry, Files.size(file), digest.hex(), listing);
    return contents;
  }

  /** Lowercase hex SHA-256 of {@code bytes}, as manifests record it. */
  public static String sha256Hex(byte[] bytes) {
    return HexFormat.of().formatHex(AtomicFiles.sha256().digest(bytes));
  }

  private static void requirePresent(Path file, Path listing) {
    if (!Files.isRegularFile(file)) {
      throw new CheckpointException(file + " is missing (listed in " + listing + "): corrupt");
    }
  }

  private static void check(
      Path file, Manifest.FileEntry entry, long size, String digest, Path listing) {
    if (size != entry.size() || !digest.equals(entry.digest())) {
      throw new CheckpointException(
          file + " does not match its size and checksum in " + listing + ": corrupt");
    }
  }
}
