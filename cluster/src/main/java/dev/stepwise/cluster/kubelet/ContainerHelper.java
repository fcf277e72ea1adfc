package dev.stepwise.cluster.kubelet;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The {@code stepwise-container} program (its C source is a resource of this package) that runs one
 * container of image mode in namespaces: compiled with the machine's C compiler on first use and
 * cached by the hash of its source, like the control plane binary.
 */
public final class ContainerHelper {

  private static final String SOURCE = "stepwise-container.c";
  private static final long COMPILE_TIMEOUT_SECONDS = 120;

  private ContainerHelper() {}

  /**
   * The compiled program. Fails, saying what to do, when this process is not root (namespaces,
   * mounts and chroot need it) or no C compiler is installed.
   */
  public static Path resolve() throws IOException {
    if (!isRoot()) {
      throw new IOException(
          "image mode runs containers in mount and pid namespaces, which needs root; run as root"
              + " or without image mode");
    }
    byte[] source;
    try (var in = ContainerHelper.class.getResourceAsStream(SOURCE)) {
      if (in == null) {
        throw new IOException(SOURCE + " is missing from the cluster jar");
      }
      source = in.readAllBytes();
    }
    var dir = cacheRoot().resolve("container").resolve(sha256(source).substring(0, 16));
    var binary = dir.resolve("stepwise-container");
    if (Files.isExecutable(binary)) {
      return binary;
    }
    Files.createDirectories(dir);
    var src = Files.write(dir.resolve(SOURCE), source);
    var temporary = dir.resolve("stepwise-container.tmp." + ProcessHandle.current().pid());
    var command =
        List.of(
            "cc", "-O2", "-Wall", "-Wextra", "-Werror", "-o", temporary.toString(), src.toString());
    Process process;
    try {
      process = new ProcessBuilder(command).redirectErrorStream(true).start();
    } catch (IOException e) {
      throw new IOException(
          "image mode compiles its container helper once with a C compiler, and `cc` is not"
              + " installed (apt-get install gcc): "
              + e.getMessage(),
          e);
    }
    try {
      var output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!process.waitFor(COMPILE_TIMEOUT_SECONDS, TimeUnit.SECONDS) || process.exitValue() != 0) {
        process.destroyForcibly();
        throw new IOException(String.join(" ", command) + " failed:\n" + output);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
      throw new IOException("interrupted while compiling " + SOURCE, e);
    }
    Files.move(temporary, binary, StandardCopyOption.ATOMIC_MOVE);
    return binary;
  }

  /**
   * Stepwise's cache: {@code $STEPWISE_CACHE}, else {@code $XDG_CACHE_HOME/stepwise}, else {@code
   * ~/.cache/stepwise} (where {@code controlplane/build} keeps its binary too).
   */
  static Path cacheRoot() {
    var explicit = System.getenv("STEPWISE_CACHE");
    if (explicit != null && !explicit.isBlank()) {
      return Path.of(explicit);
    }
    var xdg = System.getenv("XDG_CACHE_HOME");
    var base =
        xdg != null && !xdg.isBlank()
            ? Path.of(xdg)
            : Path.of(System.getProperty("user.home"), ".cache");
    return base.resolve("stepwise");
  }

  /** Whether this process runs as root (its effective uid, from /proc). */
  static boolean isRoot() {
    try {
      for (var line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("Uid:")) {
          return line.split("\\s+")[2].equals("0");
        }
      }
    } catch (IOException e) {
      return false;
    }
    return false;
  }

  private static String sha256(byte[] data) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every JDK", e);
    }
  }
}
