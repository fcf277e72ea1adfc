package dev.stepwise.cluster.kubelet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stepwise.cluster.FileTrees;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.GZIPInputStream;
import org.jboss.logging.Logger;

/**
 * The image store of the kubelet's image mode: the OCI image archives in one directory (what {@code
 * images/build.py} writes; {@code docker save} archives too), found by the image references they
 * carry, and each image unpacked once into a root file system cached by its digest. Unpacking runs
 * in the background; meanwhile a pod waits in {@code ContainerCreating}, as while a kubelet pulls.
 */
public final class ImageArchives implements AutoCloseable {

  private static final Logger LOG = Logger.getLogger(ImageArchives.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String ARCHIVE_SUFFIX = ".tar";
  private static final String DONE = "image.json";

  /**
   * An unpacked image no archive holds any more (its archive was rebuilt) is deleted from the cache
   * once unused this long; a pod started from it before must be long gone by then.
   */
  private static final Duration UNUSED = Duration.ofHours(24);

  /** What the image's config says about running it (OCI image config, "config" section). */
  record Config(
      List<String> entrypoint,
      List<String> cmd,
      List<String> env,
      String user,
      String workingDir) {}

  /** An image unpacked and ready to run: its root file system and config. */
  record Image(String reference, String digest, Path rootfs, Config config) {}

  /** One unpack, for the figures: how long it took and how much it wrote. */
  public record Unpack(String reference, String digest, Duration took, long files, long bytes) {}

  /** The container's image is being unpacked: the pod waits, like ContainerCreating. */
  static final class Unpacking extends RuntimeException {
    Unpacking(String message) {
      super(message);
    }
  }

  private record Blob(long offset, long size) {}

  /** What one archive file holds (read once per file version). */
  private record Archive(
      Path file,
      long modified,
      long size,
      List<String> references,
      String digest,
      Config config,
      List<String> layerBlobs,
      Map<String, Blob> blobs) {}

  private final Path directory;
  private final Path cache;
  private final Map<Path, Archive> archives = new ConcurrentHashMap<>();
  private final Map<String, CompletableFuture<Image>> unpacking = new ConcurrentHashMap<>();
  private final List<Unpack> unpacks = new CopyOnWriteArrayList<>();
  private final ExecutorService unpacker =
      Executors.newSingleThreadExecutor(
          r -> {
            var thread = new Thread(r, "image-unpack");
            thread.setDaemon(true);
            return thread;
          });
  private final AtomicLong temporaries = new AtomicLong();
  private final Map<Path, Long> lastMarked = new ConcurrentHashMap<>();

  /**
   * @param directory where the archives are ({@code *.tar}, looked up again on every miss)
   * @param cache where unpacked images are kept, one directory per image digest
   */
  public ImageArchives(Path directory, Path cache) {
    this.directory = directory.toAbsolutePath().normalize();
    this.cache = cache.toAbsolutePath().normalize();
  }

  /** The archives {@code images/build.py} writes for the checkout at {@code repo}. */
  public static Path checkoutArchives(Path repo) {
    return repo.resolve("target/images");
  }

  /** The cache shared by local clusters: {@code <stepwise cache>/rootfs}. */
  public static Path defaultCache() {
    return ContainerHelper.cacheRoot().resolve("rootfs");
  }

  public Path directory() {
    return directory;
  }

  /** Every unpack done so far, oldest first. */
  public List<Unpack> unpacks() {
    return List.copyOf(unpacks);
  }

  /** The image references of every archive in the directory (for messages and tests). */
  public List<String> references() {
    var all = new LinkedHashSet<String>();
    scan().forEach(a -> all.addAll(a.references()));
    return List.copyOf(all);
  }

  /** The archive file that holds image {@code reference}, if one does. */
  public Optional<Path> archive(String reference) {
    try {
      return Optional.of(find(reference).file());
    } catch (ContainerLaunch.LaunchException notFound) {
      return Optional.empty();
    }
  }

  /**
   * The unpacked image {@code reference} names. Throws {@link Unpacking} while it is being unpacked
   * (the first time), and a {@link ContainerLaunch.LaunchException} with reason {@code
   * ErrImagePull} when no archive holds it or it cannot be unpacked.
   */
  Image image(String reference) {
    var archive = find(reference);
    var key = archive.digest() + "|" + archive.file() + "|" + archive.modified();
    var done = cache.resolve(dirName(archive.digest()));
    if (Files.isRegularFile(done.resolve(DONE))) {
      markUsed(done.resolve(DONE));
      return new Image(reference, archive.digest(), done.resolve("rootfs"), archive.config());
    }
    var future =
        unpacking.computeIfAbsent(
            key, k -> CompletableFuture.supplyAsync(() -> unpack(reference, archive), unpacker));
    if (!future.isDone()) {
      throw new Unpacking(
          "unpacking image " + reference + " (" + archive.digest() + ") from " + archive.file());
    }
    try {
      return future.join();
    } catch (RuntimeException e) {
      var cause = e.getCause() == null ? e : e.getCause();
      throw new ContainerLaunch.LaunchException(
          "ErrImagePull",
          "image " + reference + " from " + archive.file() + " cannot be unpacked: " + cause);
    }
  }

  /** The archive that holds {@code reference}; ErrImagePull naming where it looked otherwise. */
  private Archive find(String reference) {
    var wanted = normalize(reference);
    var digestRef = reference.contains("@") ? reference.substring(reference.indexOf('@') + 1) : "";
    var found = scan();
    for (var archive : found) {
      if (archive.digest().equals(digestRef)
          || archive.references().stream().anyMatch(r -> normalize(r).equals(wanted))) {
        return archive;
      }
    }
    var known = new ArrayList<String>();
    found.forEach(a -> known.addAll(a.references()));
    throw new ContainerLaunch.LaunchException(
        "ErrImagePull",
        "image "
            + reference
            + " is in none of the OCI archives in "
            + directory
            + (known.isEmpty()
                ? " (there are none)"
                : " (they hold " + String.join(", ", known) + ")")
            + "; build Stepwise's with: python3 images/build.py operator runtime");
  }

  /** The archives of the directory, each read once per version of the file. */
  private List<Archive> scan() {
    if (!Files.isDirectory(directory)) {
      return List.of();
    }
    var result = new ArrayList<Archive>();
    try (var files = Files.list(directory)) {
      for (var file : files.sorted().toList()) {
        if (!file.getFileName().toString().endsWith(ARCHIVE_SUFFIX) || !Files.isRegularFile(file)) {
          continue;
        }
        var modified = Files.getLastModifiedTime(file).toMillis();
        var size = Files.size(file);
        var known = archives.get(file);
        if (known == null || known.modified() != modified || known.size() != size) {
          try {
            known = read(file, modified, size);
          } catch (IOException | RuntimeException e) {
            LOG.debugf("%s is not a readable image archive: %s", file, e.getMessage());
            archives.remove(file);
            continue;
          }
          archives.put(file, known);
        }
        result.add(known);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + directory, e);
    }
    return result;
  }

  /** Reads an archive's index (OCI layout, else Docker's manifest.json) and image config. */
  private static Archive read(Path file, long modified, long size) throws IOException {
    var blobs = new HashMap<String, Blob>();
    try (var in = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
      var tar = new TarReader(in);
      for (var entry = tar.next(); entry != null; entry = tar.next()) {
        if (entry.type() == TarReader.REGULAR) {
          blobs.put(
              entry.name().replaceFirst("^\\./", ""), new Blob(tar.contentOffset(), entry.size()));
        }
      }
    }
    var references = new ArrayList<String>();
    var docker =
        blobs.containsKey("manifest.json") ? json(file, blobs, "manifest.json").path(0) : null;
    String digest;
    String config;
    var layers = new ArrayList<String>();
    if (blobs.containsKey("index.json")) {
      var index = json(file, blobs, "index.json");
      for (var m : index.path("manifests")) {
        for (var key : List.of("io.containerd.image.name", "org.opencontainers.image.ref.name")) {
          var name = m.path("annotations").path(key).asText("");
          if (name.contains("/") || name.contains(":")) { // a tag alone names no image
            references.add(name);
          }
        }
      }
      digest = platformManifest(file, blobs, index).path("digest").asText();
      var manifest = json(file, blobs, blobPath(digest));
      manifest.path("layers").forEach(l -> layers.add(blobPath(l.path("digest").asText())));
      config = blobPath(manifest.path("config").path("digest").asText());
    } else if (docker != null) {
      config = docker.path("Config").asText();
      docker.path("Layers").forEach(l -> layers.add(l.asText()));
      digest = "sha256:" + sha256(readBlob(file, blobs, config));
    } else {
      throw new IOException("neither index.json nor manifest.json");
    }
    if (docker != null) {
      docker.path("RepoTags").forEach(t -> references.add(t.asText()));
    }
    return new Archive(
        file,
        modified,
        size,
        List.copyOf(new LinkedHashSet<>(references)),
        digest,
        config(json(file, blobs, config)),
        List.copyOf(layers),
        blobs);
  }

  /** The index entry for linux/amd64 (or the only one), following nested indexes. */
  private static JsonNode platformManifest(Path file, Map<String, Blob> blobs, JsonNode index)
      throws IOException {
    JsonNode chosen = null;
    for (var m : index.path("manifests")) {
      var platform = m.path("platform");
      if (platform.isMissingNode()
          || ("linux".equals(platform.path("os").asText())
              && "amd64".equals(platform.path("architecture").asText()))) {
        chosen = m;
        break;
      }
    }
    if (chosen == null) {
      throw new IOException("no linux/amd64 image in the index");
    }
    if (chosen.path("mediaType").asText().endsWith("image.index.v1+json")) {
      return platformManifest(
          file, blobs, json(file, blobs, blobPath(chosen.path("digest").asText())));
    }
    return chosen;
  }

  private static Config config(JsonNode image) {
    var c = image.path("config");
    return new Config(
        strings(c.path("Entrypoint")),
        strings(c.path("Cmd")),
        strings(c.path("Env")),
        c.path("User").asText(""),
        c.path("WorkingDir").asText(""));
  }

  private static List<String> strings(JsonNode array) {
    var list = new ArrayList<String>();
    array.forEach(n -> list.add(n.asText()));
    return List.copyOf(list);
  }

  private static String blobPath(String digest) {
    return "blobs/" + digest.replace(':', '/');
  }

  private static JsonNode json(Path file, Map<String, Blob> blobs, String name) throws IOException {
    return JSON.readTree(readBlob(file, blobs, name));
  }

  private static byte[] readBlob(Path file, Map<String, Blob> blobs, String name)
      throws IOException {
    var blob = blobs.get(name);
    if (blob == null) {
      throw new IOException(name + " is missing");
    }
    if (blob.size() > 16 << 20) {
      throw new IOException(name + " is too large for metadata");
    }
    try (var in = open(file, blob)) {
      return in.readAllBytes();
    }
  }

  private static InputStream open(Path file, Blob blob) throws IOException {
    var channel = FileChannel.open(file, StandardOpenOption.READ);
    channel.position(blob.offset());
    var in = Channels.newInputStream(channel);
    return new InputStream() {
      private long left = blob.size();

      @Override
      public int read() throws IOException {
        if (left <= 0) {
          return -1;
        }
        var b = in.read();
        if (b >= 0) {
          left--;
        }
        return b;
      }

      @Override
      public int read(byte[] buffer, int off, int len) throws IOException {
        if (left <= 0) {
          return -1;
        }
        var n = in.read(buffer, off, (int) Math.min(len, left));
        if (n > 0) {
          left -= n;
        }
        return n;
      }

      @Override
      public void close() throws IOException {
        in.close();
      }
    };
  }

  /** Unpacks every layer into a fresh directory, then moves it to its digest's place. */
  private Image unpack(String reference, Archive archive) {
    var started = System.nanoTime();
    var target = cache.resolve(dirName(archive.digest()));
    var temporary =
        cache.resolve(
            ".unpacking-"
                + dirName(archive.digest())
                + "-"
                + ProcessHandle.current().pid()
                + "-"
                + temporaries.incrementAndGet());
    LOG.infof("image %s: unpacking %s from %s", reference, archive.digest(), archive.file());
    try {
      Files.createDirectories(cache);
      FileTrees.delete(temporary);
      var writer = new RootfsWriter(temporary.resolve("rootfs"), ContainerHelper.isRoot());
      for (var name : archive.layerBlobs()) {
        var blob = archive.blobs().get(name);
        if (blob == null) {
          throw new IOException("layer " + name + " is missing from the archive");
        }
        var sha = MessageDigest.getInstance("SHA-256");
        try (var raw = new DigestInputStream(open(archive.file(), blob), sha);
            var in = decompressed(new BufferedInputStream(raw, 1 << 16), name)) {
          writer.apply(in);
          in.transferTo(
              OutputStream.nullOutputStream()); // a layer's tar may end before its gzip stream
        }
        var expected = name.startsWith("blobs/sha256/") ? name.substring(13) : null;
        var actual = HexFormat.of().formatHex(sha.digest());
        if (expected != null && !expected.equals(actual)) {
          throw new IOException(
              "layer sha256:" + expected + " is corrupt (its content is sha256:" + actual + ")");
        }
      }
      writer.finish();
      Files.writeString(
          temporary.resolve(DONE),
          JSON.writeValueAsString(
              Map.of(
                  "reference",
                  reference,
                  "digest",
                  archive.digest(),
                  "archive",
                  "" + archive.file())),
          StandardCharsets.UTF_8);
      try {
        Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE);
      } catch (IOException raced) {
        if (!Files.isRegularFile(target.resolve(DONE))) {
          throw raced;
        }
        FileTrees.delete(temporary); // another kubelet unpacked the same image meanwhile
      }
      var took = Duration.ofNanos(System.nanoTime() - started);
      prune();
      unpacks.add(new Unpack(reference, archive.digest(), took, writer.files(), writer.bytes()));
      LOG.infof(
          "image %s: unpacked %s in %.1f s (%d files, %.1f MB) into %s",
          reference,
          archive.digest(),
          took.toNanos() / 1e9,
          writer.files(),
          writer.bytes() / 1e6,
          target);
      return new Image(reference, archive.digest(), target.resolve("rootfs"), archive.config());
    } catch (IOException | NoSuchAlgorithmException e) {
      try {
        FileTrees.delete(temporary);
      } catch (IOException ignored) {
        // the next unpack of this image starts with its own directory anyway
      }
      throw new UncheckedIOException(new IOException(e.getMessage(), e));
    }
  }

  /** Records that an unpacked image was used now (its marker's time), at most once a minute. */
  private void markUsed(Path marker) {
    var now = System.currentTimeMillis();
    var last = lastMarked.get(marker);
    if (last != null && now - last < 60_000) {
      return;
    }
    lastMarked.put(marker, now);
    try {
      Files.setLastModifiedTime(marker, FileTime.fromMillis(now));
    } catch (IOException e) {
      LOG.debugf("cannot mark %s used: %s", marker, e.getMessage());
    }
  }

  /**
   * Deletes unpacked images that no archive of the directory holds and that were not used for
   * {@link #UNUSED}, and unpacks left half-done as long ago.
   */
  private void prune() {
    var held = new HashSet<String>();
    scan().forEach(a -> held.add(dirName(a.digest())));
    var cutoff = System.currentTimeMillis() - UNUSED.toMillis();
    try (var entries = Files.list(cache)) {
      for (var entry : entries.toList()) {
        var name = entry.getFileName().toString();
        var marker = name.startsWith(".unpacking-") ? entry : entry.resolve(DONE);
        if (held.contains(name)
            || !Files.exists(marker)
            || Files.getLastModifiedTime(marker).toMillis() > cutoff) {
          continue;
        }
        LOG.infof("removing %s from the image cache (unused for %d h)", entry, UNUSED.toHours());
        FileTrees.delete(entry);
      }
    } catch (IOException e) {
      LOG.warnf("cannot prune the image cache %s: %s", cache, e.getMessage());
    }
  }

  private static InputStream decompressed(BufferedInputStream in, String name) throws IOException {
    in.mark(4);
    var magic = new byte[4];
    var n = in.readNBytes(magic, 0, 4);
    in.reset();
    if (n >= 2 && (magic[0] & 0xff) == 0x1f && (magic[1] & 0xff) == 0x8b) {
      return new GZIPInputStream(in, 1 << 16);
    }
    if (n == 4 && (magic[0] & 0xff) == 0x28 && (magic[1] & 0xff) == 0xb5) {
      throw new IOException("layer " + name + " is zstd-compressed, which image mode cannot read");
    }
    return in;
  }

  private static String sha256(byte[] data) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every JDK", e);
    }
  }

  private static String dirName(String digest) {
    return digest.replace(':', '-');
  }

  /**
   * A reference in its full form: registry and repository path ({@code docker.io/library/} for
   * short names, as Docker reads them), and {@code :latest} when it names no tag or digest.
   */
  static String normalize(String reference) {
    var at = reference.indexOf('@');
    var name = at >= 0 ? reference.substring(0, at) : reference;
    var digest = at >= 0 ? reference.substring(at) : "";
    var slash = name.indexOf('/');
    var first = slash < 0 ? "" : name.substring(0, slash);
    if (slash < 0) {
      name = "docker.io/library/" + name;
    } else if (!first.contains(".") && !first.contains(":") && !first.equals("localhost")) {
      name = "docker.io/" + name;
    }
    if (name.startsWith("docker.io/") && name.indexOf('/', "docker.io/".length()) < 0) {
      name = "docker.io/library/" + name.substring("docker.io/".length());
    }
    var lastSlash = name.lastIndexOf('/');
    if (digest.isEmpty() && name.indexOf(':', lastSlash) < 0) {
      name = name + ":latest";
    }
    return name + digest;
  }

  @Override
  public void close() {
    unpacker.shutdownNow();
  }
}
