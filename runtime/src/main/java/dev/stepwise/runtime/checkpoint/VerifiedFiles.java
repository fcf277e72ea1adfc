package dev.stepwise.runtime.checkpoint;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;

/**
 * Reads files back checked against the size and SHA-256 that a listing ({@code manifest.json}, a
 * part marker, {@code published.json}) recorded for them; a mismatch is a {@link
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
    check(file, entry, bytes.length, sha256Hex(bytes), listing);
    return bytes;
  }

  /**
   * The tensors of safetensors {@code file}, checked against its {@code entry} in {@code listing}.
   */
  public static Safetensors.Contents readTensors(Path file, Manifest.FileEntry entry, Path listing)
      throws IOException {
    return startReadingTensors(file, entry, listing).verified();
  }

  /**
   * Starts reading the tensors of safetensors {@code file}: they are read when this returns, and
   * still being hashed in the background, so that the next file can be read meanwhile. Call {@link
   * PendingTensors#verified} before using them, or {@link PendingTensors#abandon} on failure.
   */
  public static PendingTensors startReadingTensors(
      Path file, Manifest.FileEntry entry, Path listing) throws IOException {
    requirePresent(file, listing);
    var digest = new BackgroundDigest();
    try {
      var contents = Safetensors.readInBackground(file, digest);
      return new PendingTensors(file, entry, listing, Files.size(file), contents, digest);
    } catch (IOException | RuntimeException e) {
      digest.await();
      throw e;
    }
  }

  /** Tensors read from a file whose checksum is still being computed. */
  public static final class PendingTensors {
    private final Path file;
    private final Manifest.FileEntry entry;
    private final Path listing;
    private final long size;
    private final Safetensors.Contents contents;
    private final BackgroundDigest digest;

    private PendingTensors(
        Path file,
        Manifest.FileEntry entry,
        Path listing,
        long size,
        Safetensors.Contents contents,
        BackgroundDigest digest) {
      this.file = file;
      this.entry = entry;
      this.listing = listing;
      this.size = size;
      this.contents = contents;
      this.digest = digest;
    }

    /** The tensors, once the file has been checked against its entry in the listing. */
    public Safetensors.Contents verified() {
      check(file, entry, size, digest.hex(), listing);
      return contents;
    }

    /** Waits until the background hash no longer reads the tensors, which may then be freed. */
    public void abandon() {
      digest.await();
    }
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
      Path file, Manifest.FileEntry entry, long size, String sha256, Path listing) {
    if (size != entry.size() || !sha256.equals(entry.sha256())) {
      throw new CheckpointException(
          file + " does not match its size and checksum in " + listing + ": corrupt");
    }
  }
}
