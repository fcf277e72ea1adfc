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
import java.util.HexFormat;
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

  /** What was written: size and SHA-256 (lowercase hex). */
  public record Written(long size, String sha256) {}

  private AtomicFiles() {}

  public static Written write(Path target, Body body) throws IOException {
    var tmp = target.resolveSibling("." + target.getFileName() + ".tmp");
    var digest = sha256();
    long size;
    try {
      try (var channel =
          FileChannel.open(
              tmp,
              StandardOpenOption.CREATE,
              StandardOpenOption.TRUNCATE_EXISTING,
              StandardOpenOption.WRITE)) {
        var hashing = new HashingChannel(channel, digest);
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
    return new Written(size, HexFormat.of().formatHex(digest.digest()));
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
      entries.add(
          new Manifest.FileEntry(pathPrefix + file.getKey(), written.size(), written.sha256()));
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

  private static final class HashingChannel implements WritableByteChannel {
    private final WritableByteChannel delegate;
    private final MessageDigest digest;
    private long count;

    HashingChannel(WritableByteChannel delegate, MessageDigest digest) {
      this.delegate = delegate;
      this.digest = digest;
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
      var view = src.duplicate();
      var n = delegate.write(src);
      view.limit(view.position() + n);
      digest.update(view);
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
