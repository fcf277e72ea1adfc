package dev.stepwise.cluster.kubelet;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Applies image layers, in order, to a root file system directory, as a container runtime does:
 * files, directories, symbolic and hard links with their owners, modes and times; OCI whiteouts
 * ({@code .wh.<name>} deletes a path of the layers below, {@code .wh..wh..opq} empties a directory
 * of them). No entry may reach outside the root, neither by ".." nor through a symbolic link of an
 * earlier entry. Owners are only kept when this process is root.
 */
final class RootfsWriter {

  private static final String WHITEOUT = ".wh.";
  private static final String OPAQUE = ".wh..wh..opq";
  private static final LinkOption[] NOFOLLOW = {LinkOption.NOFOLLOW_LINKS};

  private record DirectoryMeta(Path path, int mode, long uid, long gid, long mtime) {}

  private final Path root;
  private final boolean chown;
  private final List<DirectoryMeta> directories = new ArrayList<>();
  private final Set<Path> safeDirectories = new HashSet<>();
  private Set<Path> inThisLayer = new HashSet<>();
  private long files;
  private long bytes;

  RootfsWriter(Path root, boolean chown) throws IOException {
    this.root = Files.createDirectories(root).toRealPath();
    this.chown = chown;
    safeDirectories.add(this.root);
  }

  long files() {
    return files;
  }

  long bytes() {
    return bytes;
  }

  /** Applies one layer (an uncompressed tar stream). */
  void apply(InputStream layer) throws IOException {
    inThisLayer = new HashSet<>();
    var tar = new TarReader(layer);
    for (var entry = tar.next(); entry != null; entry = tar.next()) {
      var relative = relative(entry.name());
      if (relative == null) {
        continue; // the root itself
      }
      var name = relative.getFileName().toString();
      var parent = relative.getParent() == null ? root : root.resolve(relative.getParent());
      if (name.equals(OPAQUE)) {
        ensureDirectory(parent);
        emptyLowerLayers(parent);
        continue;
      }
      if (name.startsWith(WHITEOUT)) {
        ensureDirectory(parent);
        deleteTree(parent.resolve(name.substring(WHITEOUT.length())));
        continue;
      }
      ensureDirectory(parent);
      var target = root.resolve(relative);
      inThisLayer.add(target);
      write(entry, target, tar);
    }
  }

  /** Sets the directories' owners, modes and times, once every layer is applied. */
  void finish() throws IOException {
    directories.sort(
        Comparator.comparingInt((DirectoryMeta d) -> d.path().getNameCount()).reversed());
    for (var d : directories) {
      if (Files.isDirectory(d.path(), NOFOLLOW)) {
        owner(d.path(), d.uid(), d.gid());
        Files.setAttribute(d.path(), "unix:mode", d.mode() & 07777, NOFOLLOW);
        Files.setLastModifiedTime(d.path(), FileTime.fromMillis(d.mtime() * 1000));
      }
    }
  }

  private void write(TarReader.Entry entry, Path target, TarReader tar) throws IOException {
    var existingIsDirectory = Files.isDirectory(target, NOFOLLOW);
    if (entry.type() == TarReader.DIRECTORY) {
      if (!existingIsDirectory) {
        Files.deleteIfExists(target);
        Files.createDirectory(target);
      }
      safeDirectories.add(target);
      directories.add(
          new DirectoryMeta(target, entry.mode(), entry.uid(), entry.gid(), entry.mtime()));
      return;
    }
    if (existingIsDirectory) {
      deleteTree(target);
    } else {
      Files.deleteIfExists(target);
    }
    switch (entry.type()) {
      case TarReader.REGULAR, '7' -> {
        try (var content = tar.content()) {
          Files.copy(content, target, StandardCopyOption.REPLACE_EXISTING);
        }
        owner(target, entry.uid(), entry.gid());
        Files.setAttribute(target, "unix:mode", entry.mode() & 07777, NOFOLLOW);
        Files.setLastModifiedTime(target, FileTime.fromMillis(entry.mtime() * 1000));
        files++;
        bytes += entry.size();
      }
      case TarReader.SYMLINK -> {
        Files.createSymbolicLink(target, Path.of(entry.link()));
        owner(target, entry.uid(), entry.gid());
        files++;
      }
      case TarReader.HARD_LINK -> {
        var linked = relative(entry.link());
        if (linked == null) {
          throw new IOException("hard link " + entry.name() + " to the root");
        }
        var existing = root.resolve(linked);
        if (existing.getParent() != null) {
          ensureDirectory(existing.getParent());
        }
        if (!Files.isRegularFile(existing, NOFOLLOW)) {
          throw new IOException(
              "hard link " + entry.name() + " to " + entry.link() + ", which is not a file");
        }
        try {
          Files.createLink(target, existing);
        } catch (FileAlreadyExistsException e) {
          throw new IOException("hard link " + entry.name() + " exists twice", e);
        }
        files++;
      }
      default -> {
        // Devices and FIFOs: a runtime provides /dev; images carry none that matter.
      }
    }
  }

  /** The entry's path below the root, or null for the root itself; refuses "..". */
  private static Path relative(String name) throws IOException {
    var parts = new ArrayList<String>();
    for (var part : name.split("/")) {
      if (part.isEmpty() || part.equals(".")) {
        continue;
      }
      if (part.equals("..")) {
        throw new IOException("layer entry " + name + " leaves the root (..)");
      }
      parts.add(part);
    }
    return parts.isEmpty() ? null : Path.of(String.join("/", parts));
  }

  /**
   * Makes sure {@code dir} is a directory inside the root reached without symbolic links (making
   * missing ones), so a write below it lands in the image.
   */
  private void ensureDirectory(Path dir) throws IOException {
    if (safeDirectories.contains(dir)) {
      return;
    }
    if (!dir.startsWith(root) || dir.equals(root)) {
      return;
    }
    ensureDirectory(dir.getParent());
    if (Files.isSymbolicLink(dir)) {
      throw new IOException(
          "a layer writes below " + root.relativize(dir) + ", a symbolic link of an earlier entry");
    }
    if (!Files.isDirectory(dir, NOFOLLOW)) {
      Files.deleteIfExists(dir);
      Files.createDirectory(dir);
    }
    safeDirectories.add(dir);
  }

  /** An opaque whiteout: everything in {@code dir} that this layer did not write goes. */
  private void emptyLowerLayers(Path dir) throws IOException {
    try (var children = Files.list(dir)) {
      for (var child : children.toList()) {
        if (!inThisLayer.contains(child)) {
          deleteTree(child);
        }
      }
    }
  }

  private void deleteTree(Path path) throws IOException {
    if (!Files.exists(path, NOFOLLOW)) {
      return;
    }
    if (Files.isDirectory(path, NOFOLLOW)) {
      try (var walk = Files.walk(path)) {
        for (var p : walk.sorted(Comparator.reverseOrder()).toList()) {
          Files.delete(p);
          safeDirectories.remove(p);
        }
      }
    } else {
      Files.delete(path);
    }
  }

  private void owner(Path path, long uid, long gid) throws IOException {
    if (chown) {
      Files.setAttribute(path, "unix:uid", (int) uid, NOFOLLOW);
      Files.setAttribute(path, "unix:gid", (int) gid, NOFOLLOW);
    }
  }
}
