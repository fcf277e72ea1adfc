package dev.stepwise.cluster.kubelet;

import dev.stepwise.cluster.FileTrees;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * One container of image mode: the command line of {@code stepwise-container} that runs it from its
 * unpacked image as Kubernetes would — the command by the image's ENTRYPOINT/CMD and the
 * container's command/args, the user by the securityContext (else the image's), the pod's volumes
 * at their mount paths (ConfigMaps, Secrets and projected volumes read-only, emptyDirs
 * world-writable, fsGroup applied), {@code readOnlyRootFilesystem}, and {@code /etc/hosts}, {@code
 * /etc/hostname} and {@code /etc/resolv.conf} written by the kubelet. The pod keeps the machine's
 * network, as the kubelet's processes do.
 */
final class ImageContainer {

  private static final String DEFAULT_PATH =
      "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  private static final LinkOption[] NOFOLLOW = {LinkOption.NOFOLLOW_LINKS};

  /** The user a container runs as: uid, primary gid and supplementary groups. */
  record User(long uid, long gid, List<Long> groups) {}

  /** One bind mount: a directory or file of the host at a path of the container. */
  record Bind(Path source, String target, boolean readOnly) {}

  private final Path helper;

  ImageContainer(Path helper) {
    this.helper = helper;
  }

  /**
   * The command line Kubernetes runs for {@code container} of {@code image}: its command, else the
   * image's ENTRYPOINT; then its args, else (when it sets no command) the image's CMD. The
   * container's args are appended by {@link ContainerLaunch#plan}.
   */
  static LocalImages.Entrypoint entrypoint(Container container, ImageArchives.Config image) {
    var command = container.getCommand() == null ? List.<String>of() : container.getCommand();
    var args = container.getArgs() == null ? List.<String>of() : container.getArgs();
    var portEnv = LocalImages.portEnv(container.getImage());
    if (!command.isEmpty()) {
      return new LocalImages.Entrypoint(command, portEnv, true, false);
    }
    var line = new ArrayList<>(image.entrypoint());
    if (args.isEmpty()) {
      line.addAll(image.cmd());
    }
    return new LocalImages.Entrypoint(List.copyOf(line), portEnv, false, false);
  }

  /** The image's environment, by name, that the container's own variables override. */
  static Map<String, String> imageEnv(ImageArchives.Config image) {
    var env = new LinkedHashMap<String, String>();
    for (var entry : image.env()) {
      var eq = entry.indexOf('=');
      if (eq > 0) {
        env.put(entry.substring(0, eq), entry.substring(eq + 1));
      }
    }
    return env;
  }

  /**
   * The launch of {@code launch}'s command inside the container of {@code pod}: its volumes (local
   * directories by volume name) mounted, as its user, in its working directory. A command that is
   * not in the image fails like a process that cannot start ({@link UncheckedIOException}).
   */
  ContainerLaunch wrap(
      LocalPod pod, ImageArchives.Image image, ContainerLaunch launch, Map<String, Path> volumes) {
    var spec = pod.spec.getSpec();
    var container = pod.container();
    var user = user(spec.getSecurityContext(), container, image);
    var security = container.getSecurityContext();
    var cwd =
        notBlank(container.getWorkingDir())
            .or(() -> notBlank(image.config().workingDir()))
            .orElse("/");
    var env = new LinkedHashMap<>(launch.env());
    env.putIfAbsent("PATH", DEFAULT_PATH);
    env.putIfAbsent("HOME", home(image.rootfs(), user.uid()).orElse("/"));
    try {
      var box = pod.workDir.resolve("container");
      FileTrees.delete(box);
      var upper = Files.createDirectories(box.resolve("upper"));
      var work = Files.createDirectories(box.resolve("work"));
      var merged = Files.createDirectories(box.resolve("rootfs"));
      var binds = new ArrayList<Bind>(etcFiles(pod, box.resolve("etc")));
      binds.addAll(volumeBinds(pod, volumes, user));
      var executable = launch.command().get(0);
      if (findExecutable(image.rootfs(), binds, executable, env.get("PATH"), cwd).isEmpty()) {
        throw new UncheckedIOException(
            new IOException(
                "exec: \""
                    + executable
                    + "\": "
                    + (executable.contains("/")
                        ? "no such file or executable in image " + image.reference()
                        : "executable file not found in $PATH of image " + image.reference())));
      }
      var line = new ArrayList<String>();
      line.add(helper.toString());
      line.addAll(List.of("--rootfs", image.rootfs().toString()));
      line.addAll(List.of("--upper", upper.toString(), "--work", work.toString()));
      line.addAll(List.of("--merged", merged.toString()));
      if (security != null && Boolean.TRUE.equals(security.getReadOnlyRootFilesystem())) {
        line.add("--read-only");
      }
      if (security != null && Boolean.FALSE.equals(security.getAllowPrivilegeEscalation())) {
        line.add("--no-new-privs");
      }
      line.addAll(List.of("--user", String.valueOf(user.uid())));
      line.addAll(List.of("--group", String.valueOf(user.gid())));
      if (!user.groups().isEmpty()) {
        line.add("--groups");
        line.add(String.join(",", user.groups().stream().map(String::valueOf).toList()));
      }
      line.addAll(List.of("--cwd", cwd, "--hostname", hostname(pod)));
      for (var bind : binds) {
        line.addAll(
            List.of(
                "--bind", bind.source().toString(), bind.target(), bind.readOnly() ? "ro" : "rw"));
      }
      line.add("--");
      line.addAll(launch.command());
      return new ContainerLaunch(List.copyOf(line), Map.copyOf(env));
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot prepare the container of pod " + pod.name + ": " + e.getMessage(), e);
    }
  }

  /**
   * Who the container runs as: runAsUser/runAsGroup of the container, else of the pod, else the
   * image's USER (a name is looked up in the image's /etc/passwd and /etc/group); the pod's
   * supplementalGroups and fsGroup as supplementary groups. runAsNonRoot refuses uid 0.
   */
  static User user(PodSecurityContext pod, Container container, ImageArchives.Image image) {
    var own = container.getSecurityContext();
    var imageUser = imageUser(image.config().user(), image.rootfs(), image.reference());
    var runAsUser =
        first(own == null ? null : own.getRunAsUser(), pod == null ? null : pod.getRunAsUser());
    var runAsGroup =
        first(own == null ? null : own.getRunAsGroup(), pod == null ? null : pod.getRunAsGroup());
    var uid = runAsUser != null ? runAsUser : imageUser.uid();
    long gid;
    if (runAsGroup != null) {
      gid = runAsGroup;
    } else if (runAsUser == null || runAsUser == imageUser.uid()) {
      gid = imageUser.gid();
    } else {
      gid =
          passwd(image.rootfs()).stream()
              .filter(p -> p.uid == uid)
              .map(p -> p.gid)
              .findFirst()
              .orElse(0L);
    }
    var nonRoot =
        first(
            own == null ? null : own.getRunAsNonRoot(), pod == null ? null : pod.getRunAsNonRoot());
    if (Boolean.TRUE.equals(nonRoot) && uid == 0) {
      throw new ContainerLaunch.LaunchException(
          "container has runAsNonRoot and image " + image.reference() + " will run as root");
    }
    var groups = new LinkedHashSet<Long>();
    if (pod != null && pod.getSupplementalGroups() != null) {
      groups.addAll(pod.getSupplementalGroups());
    }
    if (pod != null && pod.getFsGroup() != null) {
      groups.add(pod.getFsGroup());
    }
    return new User(uid, gid, List.copyOf(groups));
  }

  private static <T> T first(T a, T b) {
    return a != null ? a : b;
  }

  /** The image's USER ("", uid, uid:gid, name, name:group) as numbers. */
  private static User imageUser(String spec, Path rootfs, String reference) {
    if (spec == null || spec.isBlank()) {
      return new User(0, 0, List.of());
    }
    var colon = spec.indexOf(':');
    var userPart = colon < 0 ? spec : spec.substring(0, colon);
    var groupPart = colon < 0 ? null : spec.substring(colon + 1);
    var entries = passwd(rootfs);
    long uid;
    Long primary;
    if (userPart.matches("\\d+")) {
      uid = Long.parseLong(userPart);
      primary = entries.stream().filter(p -> p.uid == uid).map(p -> p.gid).findFirst().orElse(0L);
    } else {
      var entry =
          entries.stream()
              .filter(p -> p.name.equals(userPart))
              .findFirst()
              .orElseThrow(
                  () ->
                      new ContainerLaunch.LaunchException(
                          "unable to find user " + userPart + " of image " + reference));
      uid = entry.uid;
      primary = entry.gid;
    }
    long gid;
    if (groupPart == null) {
      gid = primary;
    } else if (groupPart.matches("\\d+")) {
      gid = Long.parseLong(groupPart);
    } else {
      gid =
          group(rootfs, groupPart)
              .orElseThrow(
                  () ->
                      new ContainerLaunch.LaunchException(
                          "unable to find group " + groupPart + " of image " + reference));
    }
    return new User(uid, gid, List.of());
  }

  private record PasswdEntry(String name, long uid, long gid, String home) {}

  private static List<PasswdEntry> passwd(Path rootfs) {
    var entries = new ArrayList<PasswdEntry>();
    for (var fields : colonFile(rootfs, "etc/passwd")) {
      if (fields.length >= 6 && fields[2].matches("\\d+") && fields[3].matches("\\d+")) {
        entries.add(
            new PasswdEntry(
                fields[0], Long.parseLong(fields[2]), Long.parseLong(fields[3]), fields[5]));
      }
    }
    return entries;
  }

  private static Optional<Long> group(Path rootfs, String name) {
    return colonFile(rootfs, "etc/group").stream()
        .filter(f -> f.length >= 3 && f[0].equals(name) && f[2].matches("\\d+"))
        .map(f -> Long.parseLong(f[2]))
        .findFirst();
  }

  private static Optional<String> home(Path rootfs, long uid) {
    return passwd(rootfs).stream().filter(p -> p.uid == uid).map(p -> p.home).findFirst();
  }

  private static List<String[]> colonFile(Path rootfs, String relative) {
    var file = rootfs.resolve(relative);
    if (!Files.isRegularFile(file, NOFOLLOW)) {
      return List.of();
    }
    try {
      return Files.readAllLines(file, StandardCharsets.UTF_8).stream()
          .filter(l -> !l.isBlank() && !l.startsWith("#"))
          .map(l -> l.split(":", -1))
          .toList();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    }
  }

  /** The host name of the pod: spec.hostname, else its name (as a kubelet sets it). */
  private static String hostname(LocalPod pod) {
    var hostname = pod.spec.getSpec().getHostname();
    return hostname == null || hostname.isEmpty() ? pod.name : hostname;
  }

  /** /etc/hosts, /etc/hostname and /etc/resolv.conf of the pod, as a kubelet manages them. */
  private static List<Bind> etcFiles(LocalPod pod, Path dir) throws IOException {
    Files.createDirectories(dir);
    var hostname = hostname(pod);
    var names = new ArrayList<String>();
    var subdomain = pod.spec.getSpec().getSubdomain();
    if (subdomain != null && !subdomain.isEmpty()) {
      names.add(hostname + "." + subdomain + "." + pod.namespace + ".svc.cluster.local");
    }
    names.add(hostname);
    var hosts =
        "# Kubernetes-managed hosts file (the local kubelet: pods share this machine's network).\n"
            + "127.0.0.1\tlocalhost\n"
            + "::1\tlocalhost ip6-localhost ip6-loopback\n"
            + "127.0.0.1\t"
            + String.join(" ", names)
            + "\n";
    var resolv = Path.of("/etc/resolv.conf");
    var binds = new ArrayList<Bind>();
    binds.add(new Bind(Files.writeString(dir.resolve("hosts"), hosts), "/etc/hosts", false));
    binds.add(
        new Bind(
            Files.writeString(dir.resolve("hostname"), hostname + "\n"), "/etc/hostname", false));
    binds.add(
        new Bind(
            Files.writeString(
                dir.resolve("resolv.conf"),
                Files.isReadable(resolv) ? Files.readString(resolv, StandardCharsets.UTF_8) : ""),
            "/etc/resolv.conf",
            false));
    return binds;
  }

  /**
   * The container's volume mounts as binds; ConfigMap, Secret, projected and downward API volumes
   * are read-only whatever the mount says, an emptyDir is world-writable, and with an fsGroup every
   * volume is given to that group (group-writable, set-gid directories), as a kubelet does.
   */
  private static List<Bind> volumeBinds(LocalPod pod, Map<String, Path> volumes, User user)
      throws IOException {
    var spec = pod.spec.getSpec();
    var byName = new LinkedHashMap<String, Volume>();
    if (spec.getVolumes() != null) {
      spec.getVolumes().forEach(v -> byName.put(v.getName(), v));
    }
    var fsGroup = spec.getSecurityContext() == null ? null : spec.getSecurityContext().getFsGroup();
    var prepared = new LinkedHashSet<String>();
    var binds = new ArrayList<Bind>();
    var mounts = pod.container().getVolumeMounts();
    for (VolumeMount mount : mounts == null ? List.<VolumeMount>of() : mounts) {
      var volume = byName.get(mount.getName());
      var dir = volumes.get(mount.getName());
      if (volume == null || dir == null) {
        throw new ContainerLaunch.LaunchException(
            "container " + pod.container().getName() + " mounts unknown volume " + mount.getName());
      }
      if (prepared.add(mount.getName())) {
        if (volume.getEmptyDir() != null) {
          Files.setAttribute(dir, "unix:mode", 0777);
        }
        if (fsGroup != null) {
          giveToGroup(dir, fsGroup);
        }
      }
      var source = dir;
      if (mount.getSubPath() != null && !mount.getSubPath().isEmpty()) {
        source = Files.createDirectories(dir.resolve(mount.getSubPath()));
      }
      var readOnly =
          Boolean.TRUE.equals(mount.getReadOnly())
              || volume.getConfigMap() != null
              || volume.getSecret() != null
              || volume.getProjected() != null
              || volume.getDownwardAPI() != null
              || (volume.getPersistentVolumeClaim() != null
                  && Boolean.TRUE.equals(volume.getPersistentVolumeClaim().getReadOnly()));
      binds.add(new Bind(source, mount.getMountPath(), readOnly));
    }
    return binds;
  }

  /** fsGroup: the tree's group becomes {@code gid}, group-readable/writable, set-gid dirs. */
  private static void giveToGroup(Path dir, long gid) throws IOException {
    try (var walk = Files.walk(dir)) {
      for (var path : walk.toList()) {
        if (Files.isSymbolicLink(path)) {
          continue;
        }
        if (((Number) Files.getAttribute(path, "unix:gid", NOFOLLOW)).longValue() != gid) {
          Files.setAttribute(path, "unix:gid", (int) gid, NOFOLLOW);
        }
        var mode = (int) Files.getAttribute(path, "unix:mode", NOFOLLOW) & 07777;
        var wanted = Files.isDirectory(path, NOFOLLOW) ? mode | 02070 : mode | 060;
        if (wanted != mode) {
          Files.setAttribute(path, "unix:mode", wanted, NOFOLLOW);
        }
      }
    }
  }

  /**
   * Where {@code command} is, as the container's exec would find it: in a bound volume or the image
   * (symbolic links followed inside the root), by $PATH when it has no slash.
   */
  static Optional<Path> findExecutable(
      Path rootfs, List<Bind> binds, String command, String path, String cwd) {
    var candidates = new ArrayList<String>();
    if (command.contains("/")) {
      candidates.add(command.startsWith("/") ? command : cwd + "/" + command);
    } else {
      for (var dir : (path == null ? DEFAULT_PATH : path).split(":")) {
        if (!dir.isEmpty()) {
          candidates.add(dir + "/" + command);
        }
      }
    }
    Function<String, Optional<Path>> resolve = p -> inContainer(rootfs, binds, p);
    return candidates.stream()
        .map(resolve)
        .flatMap(Optional::stream)
        .filter(p -> Files.isRegularFile(p) && Files.isExecutable(p))
        .findFirst();
  }

  /** The host path of a container path: under a bind's target, or in the image's root. */
  private static Optional<Path> inContainer(Path rootfs, List<Bind> binds, String path) {
    Bind best = null;
    for (var bind : binds) {
      var target = bind.target().endsWith("/") ? bind.target() : bind.target() + "/";
      if ((path + "/").startsWith(target)
          && (best == null || bind.target().length() > best.target().length())) {
        best = bind;
      }
    }
    if (best != null) {
      var rest = path.substring(Math.min(path.length(), best.target().length()));
      return Optional.of(Path.of(best.source() + rest));
    }
    return inRoot(rootfs, path);
  }

  /** {@code path} inside {@code root}, following symbolic links as if root were "/". */
  static Optional<Path> inRoot(Path root, String path) {
    var parts = new ArrayList<>(List.of(path.split("/")));
    var resolved = new ArrayList<String>();
    var links = 0;
    while (!parts.isEmpty()) {
      var part = parts.remove(0);
      if (part.isEmpty() || part.equals(".")) {
        continue;
      }
      if (part.equals("..")) {
        if (!resolved.isEmpty()) {
          resolved.remove(resolved.size() - 1);
        }
        continue;
      }
      resolved.add(part);
      var current = root.resolve(String.join("/", resolved));
      if (Files.isSymbolicLink(current)) {
        if (++links > 40) {
          return Optional.empty();
        }
        String target;
        try {
          target = Files.readSymbolicLink(current).toString();
        } catch (IOException e) {
          return Optional.empty();
        }
        resolved.remove(resolved.size() - 1);
        if (target.startsWith("/")) {
          resolved.clear();
        }
        parts.addAll(0, List.of(target.split("/")));
      }
    }
    return Optional.of(root.resolve(String.join("/", resolved)));
  }

  private static Optional<String> notBlank(String value) {
    return value == null || value.isBlank() ? Optional.empty() : Optional.of(value);
  }
}
