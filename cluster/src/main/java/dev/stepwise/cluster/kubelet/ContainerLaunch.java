package dev.stepwise.cluster.kubelet;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarSource;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.VolumeMount;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * How one container of a pod runs as a local process: its command line and environment, with the
 * downward API and {@code $(VAR)} references resolved, in-cluster addresses turned into local ones,
 * and (for a process of the host) mount paths turned into the local directories that stand in for
 * the volumes.
 */
record ContainerLaunch(List<String> command, Map<String, String> env) {

  private static final Pattern FIELD_KEY =
      Pattern.compile("metadata\\.(labels|annotations)\\['([^']+)'\\]");
  private static final Pattern VAR_REF = Pattern.compile("\\$\\$|\\$\\(([-._a-zA-Z0-9]+)\\)");

  /**
   * A flag whose value is a port the process listens on ({@code --server.port}, {@code
   * --metrics.port}): the value is mapped to the pod's own local port.
   */
  private static final Pattern PORT_FLAG = Pattern.compile("--(?:[a-z0-9-]+\\.)*port");

  /** What the pod is, as far as the downward API can tell a container. */
  record Pod(
      String name,
      String namespace,
      String uid,
      String slot,
      Map<String, String> labels,
      Map<String, String> annotations,
      String serviceAccountName) {}

  /** What runs for a container's image: its command line and how it learns its ports. */
  interface Images {
    /** The entrypoint of {@code container}, {@code env} being its resolved variables. */
    LocalImages.Entrypoint entrypoint(Container container, Map<String, String> env);
  }

  /** ConfigMap and Secret data by name (Secret values decoded); empty when there is none. */
  interface KeyRefs {
    Optional<Map<String, String>> configMap(String name);

    Optional<Map<String, String>> secret(String name);
  }

  /**
   * Thrown when a container cannot start here; reason and message are what the pod's container
   * status shows, like a kubelet's ({@code CreateContainerConfigError}, {@code ErrImagePull}).
   */
  static final class LaunchException extends RuntimeException {
    final String reason;

    LaunchException(String message) {
      this("CreateContainerConfigError", message);
    }

    LaunchException(String reason, String message) {
      super(message);
      this.reason = reason;
    }
  }

  /**
   * Plans {@code container} of {@code pod}.
   *
   * @param volumes local directory of each of the pod's volumes, by volume name
   * @param baseEnv environment every process gets before the container's own variables
   * @param images what stands in for the container's image
   */
  static ContainerLaunch plan(
      Pod pod,
      Container container,
      Map<String, Path> volumes,
      LocalNetwork network,
      KeyRefs refs,
      Map<String, String> baseEnv,
      Images images) {
    var containerEnv = containerEnv(pod, container, refs);
    var entrypoint = images.entrypoint(container, containerEnv);
    var mounts = new Mounts(container, volumes);
    UnaryOperator<String> local =
        entrypoint.localPaths()
            ? v -> mounts.rewrite(network.rewrite(v))
            : network::rewrite; // the volumes are mounted at their paths

    var env = new LinkedHashMap<>(baseEnv);
    containerEnv.forEach((k, v) -> env.put(k, local.apply(v)));
    torchrunPort(containerEnv, network).ifPresent(port -> env.put("MASTER_PORT", port));
    entrypoint
        .portEnv()
        .forEach(
            (port, name) -> env.put(name, String.valueOf(network.localPort(pod.slot(), port))));

    var args = new ArrayList<String>();
    var given = container.getArgs() == null ? List.<String>of() : container.getArgs();
    for (int i = 0; i < given.size(); i++) {
      var arg = expand(given.get(i), containerEnv);
      if (i > 0 && PORT_FLAG.matcher(given.get(i - 1)).matches() && arg.matches("\\d+")) {
        arg = String.valueOf(network.localPort(pod.slot(), Integer.parseInt(arg)));
      } else if (arg.startsWith("--") && arg.contains("=")) {
        var flag = arg.substring(0, arg.indexOf('='));
        var value = arg.substring(arg.indexOf('=') + 1);
        if (PORT_FLAG.matcher(flag).matches() && value.matches("\\d+")) {
          arg = flag + "=" + network.localPort(pod.slot(), Integer.parseInt(value));
        }
      }
      args.add(local.apply(arg));
    }
    var line = new ArrayList<String>();
    for (var word : entrypoint.command()) {
      line.add(entrypoint.fromContainer() ? local.apply(expand(word, containerEnv)) : word);
    }
    line.addAll(args);
    if (line.isEmpty()) {
      throw new LaunchException(
          "CreateContainerError", "no command specified for container " + container.getName());
    }
    return new ContainerLaunch(List.copyOf(line), Map.copyOf(env));
  }

  /** The container's own variables in Kubernetes order: envFrom, then env, $(VAR) expanded. */
  static Map<String, String> containerEnv(Pod pod, Container container, KeyRefs refs) {
    var env = new LinkedHashMap<String, String>();
    if (container.getEnvFrom() != null) {
      for (var from : container.getEnvFrom()) {
        var prefix = from.getPrefix() == null ? "" : from.getPrefix();
        Optional<Map<String, String>> data;
        String what;
        boolean optional;
        if (from.getConfigMapRef() != null) {
          what = "ConfigMap " + from.getConfigMapRef().getName();
          optional = Boolean.TRUE.equals(from.getConfigMapRef().getOptional());
          data = refs.configMap(from.getConfigMapRef().getName());
        } else {
          what = "Secret " + from.getSecretRef().getName();
          optional = Boolean.TRUE.equals(from.getSecretRef().getOptional());
          data = refs.secret(from.getSecretRef().getName());
        }
        if (data.isEmpty() && !optional) {
          throw new LaunchException(what + " not found (envFrom of " + container.getName() + ")");
        }
        data.orElse(Map.of()).forEach((k, v) -> env.put(prefix + k, v));
      }
    }
    if (container.getEnv() != null) {
      for (EnvVar var : container.getEnv()) {
        if (var.getValueFrom() != null) {
          resolve(pod, container, var.getName(), var.getValueFrom(), refs)
              .ifPresent(v -> env.put(var.getName(), v));
        } else {
          env.put(var.getName(), expand(var.getValue() == null ? "" : var.getValue(), env));
        }
      }
    }
    return env;
  }

  /** A downward-API, ConfigMap or Secret reference's value; empty for a missing optional key. */
  static Optional<String> resolve(
      Pod pod, Container container, String name, EnvVarSource source, KeyRefs refs) {
    if (source.getFieldRef() != null) {
      return Optional.of(field(pod, source.getFieldRef().getFieldPath()));
    }
    if (source.getResourceFieldRef() != null) {
      var ref = source.getResourceFieldRef();
      return Optional.of(resource(container, ref.getResource(), ref.getDivisor()));
    }
    if (source.getConfigMapKeyRef() != null) {
      var ref = source.getConfigMapKeyRef();
      return key(
          refs.configMap(ref.getName()),
          "ConfigMap " + ref.getName(),
          ref.getKey(),
          Boolean.TRUE.equals(ref.getOptional()),
          name);
    }
    if (source.getSecretKeyRef() != null) {
      var ref = source.getSecretKeyRef();
      return key(
          refs.secret(ref.getName()),
          "Secret " + ref.getName(),
          ref.getKey(),
          Boolean.TRUE.equals(ref.getOptional()),
          name);
    }
    throw new LaunchException("env " + name + ": unsupported valueFrom " + source);
  }

  /** The downward API's {@code fieldRef.fieldPath} as a kubelet on this machine would fill it. */
  static String field(Pod pod, String path) {
    var keyed = FIELD_KEY.matcher(path);
    if (keyed.matches()) {
      var map = keyed.group(1).equals("labels") ? pod.labels() : pod.annotations();
      var value = map == null ? null : map.get(keyed.group(2));
      return value == null ? "" : value;
    }
    return switch (path) {
      case "metadata.name" -> pod.name();
      case "metadata.namespace" -> pod.namespace();
      case "metadata.uid" -> pod.uid();
      case "spec.nodeName" -> "localhost";
      case "spec.serviceAccountName" ->
          pod.serviceAccountName() == null ? "default" : pod.serviceAccountName();
      case "status.podIP", "status.podIPs", "status.hostIP", "status.hostIPs" ->
          LocalNetwork.LOOPBACK;
      default -> throw new LaunchException("unsupported downward API fieldPath " + path);
    };
  }

  private static String resource(Container container, String resource, Quantity divisor) {
    var dot = resource.indexOf('.');
    var kind = resource.substring(0, dot);
    var name = resource.substring(dot + 1);
    var resources = container.getResources();
    var map = resources == null ? null : kind.equals("limits") ? resources.getLimits() : null;
    if (map == null || !map.containsKey(name)) {
      map = resources == null ? null : resources.getRequests();
    }
    var quantity = map == null ? null : map.get(name);
    // No limit set: Kubernetes reports the node's capacity; this machine's cores stand in.
    var amount =
        quantity != null
            ? quantity.getNumericalAmount()
            : BigDecimal.valueOf(
                name.equals("cpu") ? Runtime.getRuntime().availableProcessors() : 0);
    var by = divisor == null ? BigDecimal.ONE : divisor.getNumericalAmount();
    return amount.divide(by, 0, RoundingMode.CEILING).toPlainString();
  }

  private static Optional<String> key(
      Optional<Map<String, String>> data, String what, String key, boolean optional, String env) {
    var value = data.map(d -> d.get(key));
    if (value.isEmpty() && !optional) {
      throw new LaunchException("env " + env + ": key " + key + " of " + what + " not found");
    }
    return value;
  }

  /** {@code $(VAR)} replaced by the variables defined so far; {@code $$} is a literal $. */
  static String expand(String value, Map<String, String> defined) {
    var matcher = VAR_REF.matcher(value);
    var out = new StringBuilder();
    while (matcher.find()) {
      var name = matcher.group(1);
      String replacement;
      if (name == null) {
        replacement = "$";
      } else {
        replacement = defined.getOrDefault(name, matcher.group());
      }
      matcher.appendReplacement(out, Matcher.quoteReplacement(replacement));
    }
    matcher.appendTail(out);
    return out.toString();
  }

  /**
   * torchrun's rendezvous: MASTER_PORT is a port of the pod MASTER_ADDR names, so here it becomes
   * that pod's local port (the same for every rank, and the one rank 0 listens on).
   */
  private static Optional<String> torchrunPort(Map<String, String> env, LocalNetwork network) {
    var address = env.get("MASTER_ADDR");
    var port = env.get("MASTER_PORT");
    if (address == null || port == null || !port.matches("\\d+")) {
      return Optional.empty();
    }
    return network
        .podOf(address)
        .map(pod -> String.valueOf(network.localPort(pod, Integer.parseInt(port))));
  }

  /** The container's mount paths and the local directories standing in for them. */
  static final class Mounts {
    private final Map<String, Path> byMountPath = new LinkedHashMap<>();
    private final Pattern pattern;

    Mounts(Container container, Map<String, Path> volumes) {
      var mounts =
          container.getVolumeMounts() == null
              ? List.<VolumeMount>of()
              : container.getVolumeMounts();
      for (var mount : mounts) {
        var dir = volumes.get(mount.getName());
        if (dir == null) {
          throw new LaunchException(
              "container " + container.getName() + " mounts unknown volume " + mount.getName());
        }
        var subPath = mount.getSubPath();
        byMountPath.put(
            trimSlash(mount.getMountPath()),
            subPath == null || subPath.isEmpty() ? dir : dir.resolve(subPath));
      }
      // One alternation, longest path first, so that /a/b wins over /a and a replacement is
      // never rewritten again.
      var alternatives =
          byMountPath.keySet().stream()
              .sorted(Comparator.comparingInt(String::length).reversed())
              .map(Pattern::quote)
              .collect(Collectors.joining("|"));
      pattern =
          byMountPath.isEmpty()
              ? null
              : Pattern.compile("(?<![-\\w./])(" + alternatives + ")(?=/|$|[^-\\w.])");
    }

    String rewrite(String value) {
      if (pattern == null) {
        return value;
      }
      var matcher = pattern.matcher(value);
      var out = new StringBuilder();
      while (matcher.find()) {
        var local = byMountPath.get(matcher.group(1)).toString();
        matcher.appendReplacement(out, Matcher.quoteReplacement(local));
      }
      matcher.appendTail(out);
      return out.toString();
    }

    private static String trimSlash(String path) {
      return path.length() > 1 && path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
    }
  }
}
