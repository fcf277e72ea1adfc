package dev.stepwise.runtime.checkpoint;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Atomic file writes: write a temporary sibling, fsync, rename over the target, fsync the dir. */
public final class AtomicFiles {

  /** Produces a file's bytes. */
  @FunctionalInterface
  public interface Body {
    void writeTo(WritableByteChannel out) throws IOException;

    /** A body of fixed bytes. */
    static Body of(byte[] bytes) {
      return out -> writeFully(out, ByteBuffer.wrap(bytes));
    }
  }

  /** What was written: size and checksum (lowercase hex) of the given kind. */
  public record Written(long size, Checksum checksum, String digest) {

    /** Its listing entry under {@code path}. */
    public Manifest.FileEntry entry(String path) {
      return Manifest.FileEntry.of(path, size, checksum, digest);
    }
  }

  /**
   * Bytes written per system call and checksummed right after, while they are still in the CPU's
   * cache: large enough that the calls cost nothing, small enough to stay cache-resident.
   */
  static final int SLICE_BYTES = 1 << 20;

  private AtomicFiles() {}

  /** Writes {@code target} atomically with a CRC32C of its bytes. */
  public static Written write(Path target, Body body) throws IOException {
    return write(target, body, Checksum.CRC32C);
  }

  /** Writes {@code target} atomically with a {@code checksum} of its bytes. */
  public static Written write(Path target, Body body, Checksum checksum) throws IOException {
    return write(target, body, checksum, Pacer.unlimited());
  }

  /** As above, each slice written paced by {@code pacer}. */
  public static Written write(Path target, Body body, Checksum checksum, Pacer pacer)
      throws IOException {
    var tmp = target.resolveSibling("." + target.getFileName() + ".tmp");
    var digest = checksum.start();
    long size;
    try {
      try (var channel =
          FileChannel.open(
              tmp,
              StandardOpenOption.CREATE,
              StandardOpenOption.TRUNCATE_EXISTING,
              StandardOpenOption.WRITE)) {
        var hashing = new HashingChannel(channel, digest, pacer);
        body.writeTo(hashing);
        channel.force(true);
        size = hashing.count;
      }
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException | RuntimeException e) {
      try {
        Files.deleteIfExists(tmp);
      } catch (IOException cleanup) {
        e.addSuppressed(cleanup);
      }
      throw e;
    }
    fsyncDir(target.getParent());
    return new Written(size, checksum, digest.hex());
  }

  /**
   * Writes {@code files} (name to body, in order) into {@code dir}, each atomically, and returns
   * their manifest entries, each path being {@code pathPrefix} followed by the file's name.
   */
  public static List<Manifest.FileEntry> writeAll(
      Path dir, String pathPrefix, Map<String, Body> files) throws IOException {
    var entries = new ArrayList<Manifest.FileEntry>();
    for (var file : files.entrySet()) {
      var written = write(dir.resolve(file.getKey()), file.getValue());
      entries.add(written.entry(pathPrefix + file.getKey()));
    }
    return List.copyOf(entries);
  }

  public static Written write(Path target, byte[] bytes) throws IOException {
    return write(target, Body.of(bytes));
  }

  public static void writeFully(WritableByteChannel out, ByteBuffer buffer) throws IOException {
    while (buffer.hasRemaining()) {
      out.write(buffer);
    }
  }

  public static void fsyncDir(Path dir) throws IOException {
    try (var channel = FileChannel.open(dir, StandardOpenOption.READ)) {
      channel.force(true);
    } catch (IOException e) {
      // Some file systems refuse to open or sync directories; the rename is still atomic there.
    }
  }

  public static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Writes whole buffers slice by slice, checksumming each slice right after writing it. */
  private static final class HashingChannel implements WritableByteChannel {
    private final WritableByteChannel delegate;
    private final Checksum.Digest digest;
    private final Pacer pacer;
    private long count;

    HashingChannel(WritableByteChannel delegate, Checksum.Digest digest, Pacer pacer) {
      this.delegate = delegate;
      this.digest = digest;
      this.pacer = pacer;
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
      var n = src.remaining();
      while (src.hasRemaining()) {
        var slice = src.slice();
        slice.limit(Math.min(slice.remaining(), SLICE_BYTES));
        var view = slice.duplicate();
        writeFully(delegate, slice);
        digest.update(view);
        src.position(src.position() + view.remaining());
        pacer.wrote(view.remaining());
      }
      count += n;
      return n;
    }

    @Override
    public boolean isOpen() {
      return delegate.isOpen();
    }

    @Override
    public void close() throws IOException {
      delegate.close();
    }
  }
}
