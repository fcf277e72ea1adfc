package dev.stepwise.cluster.kubelet;

import io.fabric8.kubernetes.api.model.Container;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What stands in for a container image on this machine: each Stepwise image maps to the artifact of
 * this checkout that the image would hold, run with this machine's Java. An image that maps to
 * nothing cannot run here; its pod says so the way a kubelet reports a bad image. In image mode
 * ({@link #withArchives}) every image but {@link #HOST} runs from its OCI archive instead.
 */
public final class LocalImages implements ContainerLaunch.Images {

  /** The command that stands in for the runtime image's {@code stepwise} executable. */
  static final String STEPWISE = "stepwise";

  /**
   * An image that is this machine itself: the container's command runs as given (for tests and
   * small helpers; anyone who may create pods on a local cluster is its admin anyway).
   */
  public static final String HOST = "stepwise.dev/host";

  /**
   * One image's local entrypoint.
   *
   * @param command the command line of the image's entrypoint
   * @param portEnv variables that tell the program its listening port, by the container port they
   *     stand for (a local port replaces the container port, so two pods never collide)
   * @param fromContainer whether the command is the container's own, whose {@code $(VAR)}
   *     references, mount paths and in-cluster names are rewritten like its args
   * @param localPaths whether mount paths in the command line and env become the local directories
   *     of the volumes (a host process), or stay (a container has them mounted)
   */
  record Entrypoint(
      List<String> command,
      Map<Integer, String> portEnv,
      boolean fromContainer,
      boolean localPaths) {

    /** A process of the host. */
    Entrypoint(List<String> command, Map<Integer, String> portEnv, boolean fromContainer) {
      this(command, portEnv, fromContainer, true);
    }
  }

  private final List<String> runtime;
  private final List<String> operator;
  private final ImageArchives archives;

  /**
   * @param runtime the command line standing in for the runtime image's {@code stepwise}
   * @param operator the command line standing in for the operator image's entrypoint (a {@code
   *     java} command: the container's {@code JAVA_OPTS} go right after its first word)
   */
  public LocalImages(List<String> runtime, List<String> operator) {
    this(runtime, operator, null);
  }

  private LocalImages(List<String> runtime, List<String> operator, ImageArchives archives) {
    this.runtime = List.copyOf(runtime);
    this.operator = List.copyOf(operator);
    this.archives = archives;
  }

  /**
   * Image mode: containers run from the images of {@code archives}, in namespaces ({@link
   * ImageContainer}); only {@link #HOST} commands still run as processes of the host.
   */
  public LocalImages withArchives(ImageArchives archives) {
    return new LocalImages(runtime, operator, archives);
  }

  /** The image archives of image mode; empty in process mode. */
  public Optional<ImageArchives> archives() {
    return Optional.ofNullable(archives);
  }

  /** The artifacts of the checkout at {@code repo} (built by {@code mvn package}). */
  public static LocalImages ofCheckout(Path repo) {
    var runtimeJar = repo.resolve("runtime/target/stepwise-runtime.jar").toAbsolutePath();
    var operatorJar = repo.resolve("operator/target/quarkus-app/quarkus-run.jar").toAbsolutePath();
    // The runtime: C1 only and a serial GC (the work is in libtorch, and the machine may have 2
    // cores). The operator: the JVM's defaults and the chart's JAVA_OPTS, as in its image.
    return new LocalImages(
        java(runtimeJar, "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xmx1g"),
        java(operatorJar));
  }

  /** The command line standing in for the runtime image's {@code stepwise} executable. */
  public List<String> runtimeCommand() {
    return existing(runtime);
  }

  /**
   * The entrypoint and arguments of {@code container} as a local command, {@code env} being the
   * container's resolved variables (for {@code JAVA_OPTS}).
   */
  @Override
  public Entrypoint entrypoint(Container container, Map<String, String> env) {
    var image = container.getImage() == null ? "" : container.getImage();
    var command = container.getCommand() == null ? List.<String>of() : container.getCommand();
    if (image.equals(HOST)) {
      if (command.isEmpty()) {
        throw new ContainerLaunch.LaunchException(
            "CreateContainerError", "image " + HOST + " needs a command");
      }
      return new Entrypoint(command, Map.of(), true);
    }
    if (image.contains("stepwise-runtime")
        && (command.isEmpty() || command.equals(List.of(STEPWISE)))) {
      return new Entrypoint(existing(runtime), Map.of(), false);
    }
    if (image.contains("stepwise-operator") && command.isEmpty()) {
      var line = new ArrayList<>(existing(operator));
      Optional.ofNullable(env.get("JAVA_OPTS"))
          .filter(s -> !s.isBlank())
          .ifPresent(s -> line.addAll(1, Arrays.asList(s.trim().split("\\s+"))));
      return new Entrypoint(List.copyOf(line), portEnv(image), false);
    }
    throw new ContainerLaunch.LaunchException(
        "ErrImagePull",
        "image "
            + image
            + (command.isEmpty() ? "" : " with command " + command)
            + " has no local stand-in (the local kubelet runs stepwise-runtime and"
            + " stepwise-operator images as the artifacts of this checkout, and "
            + HOST
            + " commands as they are)");
  }

  /**
   * The variables that tell a program of {@code image} its listening ports, by container port: the
   * operator's HTTP port (pods share the machine's network, so each gets a port of its own).
   */
  static Map<Integer, String> portEnv(String image) {
    return image != null && image.contains("stepwise-operator")
        ? Map.of(8080, "QUARKUS_HTTP_PORT")
        : Map.of();
  }

  /** {@code command}, once its jar (an absolute path after {@code -jar}) is known to exist. */
  private static List<String> existing(List<String> command) {
    var jar = command.indexOf("-jar");
    if (jar >= 0 && jar + 1 < command.size()) {
      var path = Path.of(command.get(jar + 1));
      if (path.isAbsolute() && !Files.isRegularFile(path)) {
        throw new ContainerLaunch.LaunchException(
            "ErrImagePull",
            path + " does not exist; build it with: mvn -B -ntp package -DskipTests");
      }
    }
    return command;
  }

  private static List<String> java(Path jar, String... options) {
    var line = new ArrayList<String>();
    line.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    line.addAll(List.of(options));
    line.add("-XX:-UsePerfData");
    line.add("-jar");
    line.add(jar.toString());
    return List.copyOf(line);
  }
}
