package dev.stepwise.cluster.kubelet;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stepwise.cluster.kubelet.TestImages.Entry;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Image archives are found by reference and unpacked as a container runtime would. */
class ImageArchivesTest {

  private static final String TOOL = "ghcr.io/example/tool:1.0";

  @TempDir Path dir;

  private static final Map<String, Object> CONFIG =
      Map.of(
          "Entrypoint", List.of("/bin/tool"),
          "Cmd", List.of("--help"),
          "Env", List.of("PATH=/bin", "A=1"),
          "User", "10:20",
          "WorkingDir", "/app");

  /** Waits out the background unpack of the first lookup; the result of the first that works. */
  private static ImageArchives.Image unpacked(ImageArchives archives, String reference) {
    var image = new AtomicReference<ImageArchives.Image>();
    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () -> {
              try {
                image.set(archives.image(reference));
                return true;
              } catch (ImageArchives.Unpacking e) {
                return false;
              }
            });
    return image.get();
  }

  private Path twoLayers() throws IOException {
    var archive = dir.resolve("archives/tool.oci.tar");
    TestImages.write(
        archive,
        TOOL,
        CONFIG,
        List.of(
            List.of(
                Entry.dir("app", 0750, 10, 20),
                Entry.file("app/a.txt", "one", 0640, 10, 20),
                Entry.file("app/gone.txt", "x", 0644),
                Entry.dir("opaque", 0755, 0, 0),
                Entry.file("opaque/old.txt", "old", 0644),
                Entry.symlink("app/link", "a.txt"),
                Entry.hardLink("app/hard", "app/a.txt"),
                Entry.file("bin/tool", "#!/bin/true\n", 04755)),
            List.of(
                Entry.file("app/.wh.gone.txt", "", 0644),
                Entry.file("opaque/.wh..wh..opq", "", 0644),
                Entry.file("opaque/new.txt", "new", 0644),
                Entry.file("app/a.txt", "two", 0600, 10, 20))));
    return archive;
  }

  @Test
  void layersApplyInOrderWithOwnersModesLinksAndWhiteouts() throws Exception {
    twoLayers();
    var archives = new ImageArchives(dir.resolve("archives"), dir.resolve("cache"));
    assertThrows(ImageArchives.Unpacking.class, () -> archives.image(TOOL), "first: unpacking");
    var image = unpacked(archives, TOOL);
    var root = image.rootfs();

    assertEquals("two", Files.readString(root.resolve("app/a.txt")));
    assertEquals("one", Files.readString(root.resolve("app/hard")), "linked to layer 1's a.txt");
    assertEquals(Path.of("a.txt"), Files.readSymbolicLink(root.resolve("app/link")));
    assertFalse(Files.exists(root.resolve("app/gone.txt")), "whited out");
    try (var opaque = Files.list(root.resolve("opaque"))) {
      assertEquals(List.of(root.resolve("opaque/new.txt")), opaque.toList(), "opaque whiteout");
    }
    assertEquals(0600, mode(root.resolve("app/a.txt")));
    assertEquals(04755, mode(root.resolve("bin/tool")), "set-uid bit kept");
    assertEquals(0750, mode(root.resolve("app")));
    if (ContainerHelper.isRoot()) {
      assertEquals(10, Files.getAttribute(root.resolve("app/a.txt"), "unix:uid"));
      assertEquals(20, Files.getAttribute(root.resolve("app"), "unix:gid"));
    }
    assertEquals(List.of("/bin/tool"), image.config().entrypoint());
    assertEquals(List.of("--help"), image.config().cmd());
    assertEquals("10:20", image.config().user());
    assertEquals("/app", image.config().workingDir());
    assertTrue(image.digest().startsWith("sha256:"));
    assertEquals(1, archives.unpacks().size());

    // Another kubelet with the same cache finds it unpacked: no background work, no unpack.
    var again = new ImageArchives(dir.resolve("archives"), dir.resolve("cache"));
    assertEquals(root, again.image(TOOL).rootfs());
    assertTrue(again.unpacks().isEmpty());
  }

  @Test
  void anUnpackPrunesImagesNoArchiveHoldsThatWereLongUnused() throws Exception {
    var cache = Files.createDirectories(dir.resolve("cache"));
    var dayAgo =
        java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() - 90_000_000);
    var stale = Files.createDirectories(cache.resolve("sha256-0000"));
    Files.setLastModifiedTime(Files.writeString(stale.resolve("image.json"), "{}"), dayAgo);
    var recent = Files.createDirectories(cache.resolve("sha256-1111"));
    Files.writeString(recent.resolve("image.json"), "{}");
    var halfDone = Files.createDirectories(cache.resolve(".unpacking-sha256-2222-1-1"));
    Files.setLastModifiedTime(halfDone, dayAgo);

    twoLayers();
    var image = unpacked(new ImageArchives(dir.resolve("archives"), cache), TOOL);
    assertFalse(Files.exists(stale), "no archive holds it and it was unused for a day");
    assertFalse(Files.exists(halfDone));
    assertTrue(Files.exists(recent), "used within the day");
    assertTrue(Files.exists(image.rootfs()));
  }

  @Test
  void referencesAreMatchedInTheirFullForm() throws Exception {
    var archive = dir.resolve("archives/busybox.oci.tar");
    var digest =
        TestImages.write(archive, "docker.io/library/busybox:latest", CONFIG, List.of(List.of()));
    var archives = new ImageArchives(dir.resolve("archives"), dir.resolve("cache"));
    for (var name : List.of("busybox", "busybox:latest", "library/busybox", "docker.io/busybox")) {
      assertEquals(digest, unpacked(archives, name).digest(), name);
    }
    assertEquals(digest, archives.image("ghcr.io/other/name@" + digest).digest(), "by digest");
    assertEquals("docker.io/library/busybox:latest", ImageArchives.normalize("busybox"));
    assertEquals("docker.io/me/app:2", ImageArchives.normalize("me/app:2"));
    assertEquals("localhost:5000/app:latest", ImageArchives.normalize("localhost:5000/app"));
    assertEquals(
        "ghcr.io/a/b@sha256:00", ImageArchives.normalize("ghcr.io/a/b@sha256:00"), "digest kept");
  }

  @Test
  void aMissingImageNamesWhereArchivesWereLookedFor() throws Exception {
    twoLayers();
    var archives = new ImageArchives(dir.resolve("archives"), dir.resolve("cache"));
    var error =
        assertThrows(
            ContainerLaunch.LaunchException.class, () -> archives.image("ghcr.io/example/x:2"));
    assertEquals("ErrImagePull", error.reason);
    assertTrue(error.getMessage().contains("ghcr.io/example/x:2"), error.getMessage());
    assertTrue(error.getMessage().contains(dir.resolve("archives").toString()), error.getMessage());
    assertTrue(error.getMessage().contains("they hold " + TOOL), error.getMessage());
    assertTrue(error.getMessage().contains("python3 images/build.py"), error.getMessage());

    var none = new ImageArchives(dir.resolve("nowhere"), dir.resolve("cache"));
    var empty = assertThrows(ContainerLaunch.LaunchException.class, () -> none.image(TOOL));
    assertTrue(empty.getMessage().contains("(there are none)"), empty.getMessage());
  }

  @Test
  void aCorruptLayerIsAnImagePullError() throws Exception {
    var archive = twoLayers();
    corruptFirstLayer(archive);
    var archives = new ImageArchives(dir.resolve("archives"), dir.resolve("cache"));
    var error =
        await()
            .atMost(Duration.ofSeconds(30))
            .until(
                () -> {
                  try {
                    archives.image(TOOL);
                    return null;
                  } catch (ImageArchives.Unpacking e) {
                    return null;
                  } catch (ContainerLaunch.LaunchException e) {
                    return e;
                  }
                },
                e -> e != null);
    assertEquals("ErrImagePull", error.reason);
    assertTrue(error.getMessage().contains("cannot be unpacked"), error.getMessage());
    try (var left = Files.list(dir.resolve("cache"))) {
      assertEquals(List.of(), left.toList(), "nothing half-unpacked stays in the cache");
    }
  }

  @Test
  void noEntryReachesOutsideTheRoot() throws Exception {
    for (var layer :
        List.of(
            List.of(Entry.file("../evil", "x", 0644)),
            List.of(Entry.symlink("esc", "/"), Entry.file("esc/evil", "x", 0644)))) {
      var root = Files.createTempDirectory(dir, "root");
      var writer = new RootfsWriter(root, false);
      var error =
          assertThrows(
              IOException.class,
              () -> writer.apply(new java.io.ByteArrayInputStream(TestImages.tar(layer))));
      assertTrue(
          error.getMessage().contains("leaves the root")
              || error.getMessage().contains("symbolic link"),
          error.getMessage());
    }
    assertFalse(Files.exists(dir.getParent().resolve("evil")));
    assertFalse(Files.exists(Path.of("/evil")));
  }

  private static int mode(Path path) throws IOException {
    return (int) Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 07777;
  }

  /** Flips a byte in the middle of the archive's first layer blob. */
  private static void corruptFirstLayer(Path archive) throws IOException {
    long offset = -1;
    long size = 0;
    try (var in = new BufferedInputStream(Files.newInputStream(archive))) {
      var tar = new TarReader(in);
      for (var e = tar.next(); e != null; e = tar.next()) {
        if (e.name().startsWith("blobs/") && e.size() > 100 && offset < 0) {
          var head = tar.content().readNBytes(2);
          if (head.length == 2 && (head[0] & 0xff) == 0x1f && (head[1] & 0xff) == 0x8b) {
            offset = tar.contentOffset() - 2;
            size = e.size();
          }
        }
      }
    }
    assertTrue(offset > 0, "a gzip layer in the archive");
    try (var file = new RandomAccessFile(archive.toFile(), "rw")) {
      file.seek(offset + size / 2);
      var b = file.read();
      file.seek(offset + size / 2);
      file.write(b ^ 0xff);
    }
  }
}
