package dev.stepwise.cluster.kubelet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.PodSecurityContextBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How image mode reads a container against its image: command, user, paths. */
class ImageContainerTest {

  private static final ImageArchives.Config CONFIG =
      new ImageArchives.Config(
          List.of("/entry"), List.of("cmd-arg"), List.of("PATH=/bin", "A=b=c"), "app", "/w");

  @TempDir Path root;

  private ImageArchives.Image image(String user) throws Exception {
    Files.createDirectories(root.resolve("etc"));
    Files.writeString(
        root.resolve("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\napp:x:1234:1234:app:/home/app:/bin/sh\n");
    Files.writeString(root.resolve("etc/group"), "root:x:0:\nstaff:x:50:\n");
    return new ImageArchives.Image(
        "example/app:1",
        "sha256:0",
        root,
        new ImageArchives.Config(List.of(), List.of(), List.of(), user, ""));
  }

  @Test
  void commandAndArgsFollowKubernetesRules() {
    var neither = new ContainerBuilder().withName("c").withImage("i").build();
    assertEquals(
        List.of("/entry", "cmd-arg"), ImageContainer.entrypoint(neither, CONFIG).command());

    var argsOnly = new ContainerBuilder(neither).withArgs("mine").build();
    assertEquals(
        List.of("/entry"),
        ImageContainer.entrypoint(argsOnly, CONFIG).command(),
        "args replace CMD (and are appended by the plan)");

    var commandOnly = new ContainerBuilder(neither).withCommand("/bin/other").build();
    var entrypoint = ImageContainer.entrypoint(commandOnly, CONFIG);
    assertEquals(
        List.of("/bin/other"), entrypoint.command(), "command replaces ENTRYPOINT and CMD");
    assertTrue(entrypoint.fromContainer());
    assertFalse(entrypoint.localPaths(), "volumes are mounted at their paths");

    assertEquals(java.util.Map.of("PATH", "/bin", "A", "b=c"), ImageContainer.imageEnv(CONFIG));
  }

  @Test
  void theUserComesFromTheSecurityContextElseTheImage() throws Exception {
    var plain = new ContainerBuilder().withName("c").build();
    assertEquals(
        new ImageContainer.User(1234, 1234, List.of()),
        ImageContainer.user(null, plain, image("app")));
    assertEquals(
        new ImageContainer.User(1234, 50, List.of()),
        ImageContainer.user(null, plain, image("app:staff")));
    assertEquals(
        new ImageContainer.User(7, 0, List.of()), ImageContainer.user(null, plain, image("7")));
    assertEquals(
        new ImageContainer.User(0, 0, List.of()), ImageContainer.user(null, plain, image("")));

    var pod =
        new PodSecurityContextBuilder()
            .withRunAsUser(65532L)
            .withRunAsGroup(65533L)
            .withFsGroup(65534L)
            .withSupplementalGroups(5L)
            .build();
    assertEquals(
        new ImageContainer.User(65532, 65533, List.of(5L, 65534L)),
        ImageContainer.user(pod, plain, image("app")));
    var own =
        new ContainerBuilder(plain)
            .withNewSecurityContext()
            .withRunAsUser(99L)
            .endSecurityContext();
    assertEquals(
        99, ImageContainer.user(pod, own.build(), image("app")).uid(), "the container's wins");

    var nobody = image("nobody");
    var unknown =
        assertThrows(
            ContainerLaunch.LaunchException.class, () -> ImageContainer.user(null, plain, nobody));
    assertEquals("CreateContainerConfigError", unknown.reason);
  }

  @Test
  void runAsNonRootRefusesAnImageThatRunsAsRoot() throws Exception {
    var nonRoot = new PodSecurityContextBuilder().withRunAsNonRoot(true).build();
    var plain = new ContainerBuilder().withName("c").build();
    var error =
        assertThrows(
            ContainerLaunch.LaunchException.class,
            () -> ImageContainer.user(nonRoot, plain, image("root")));
    assertEquals("CreateContainerConfigError", error.reason);
    assertTrue(error.getMessage().contains("runAsNonRoot"), error.getMessage());
    assertEquals(1234, ImageContainer.user(nonRoot, plain, image("app")).uid());
  }

  @Test
  void pathsResolveInsideTheRootAndItsVolumes() throws Exception {
    Files.createDirectories(root.resolve("usr/bin"));
    Files.createSymbolicLink(root.resolve("bin"), Path.of("usr/bin"));
    var tool = Files.writeString(root.resolve("usr/bin/tool"), "#!/bin/true\n");
    tool.toFile().setExecutable(true);
    Files.createSymbolicLink(root.resolve("usr/bin/alias"), Path.of("/bin/tool"));
    Files.createSymbolicLink(root.resolve("escape"), Path.of("/../../etc"));
    assertEquals(root.resolve("usr/bin/tool"), ImageContainer.inRoot(root, "/bin/alias").get());
    assertEquals(root.resolve("etc/passwd"), ImageContainer.inRoot(root, "/escape/passwd").get());

    var volume = Files.createDirectories(root.resolveSibling(root.getFileName() + "-vol"));
    var script = Files.writeString(volume.resolve("run.sh"), "#!/bin/sh\n");
    script.toFile().setExecutable(true);
    var binds = List.of(new ImageContainer.Bind(volume, "/scripts", true));
    assertTrue(ImageContainer.findExecutable(root, binds, "alias", "/bin", "/").isPresent());
    assertTrue(
        ImageContainer.findExecutable(root, binds, "/scripts/run.sh", "/bin", "/").isPresent());
    assertTrue(ImageContainer.findExecutable(root, binds, "tool", "/sbin", "/").isEmpty());
    assertTrue(ImageContainer.findExecutable(root, binds, "/no/such", "/bin", "/").isEmpty());
  }
}
