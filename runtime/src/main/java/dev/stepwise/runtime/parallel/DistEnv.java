package dev.stepwise.runtime.parallel;

import dev.stepwise.runtime.config.ConfigException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Where this process stands in the job, from the environment the operator (or the {@code --nproc}
 * launcher) sets, with torchrun's names: {@code RANK}, {@code WORLD_SIZE}, {@code MASTER_ADDR},
 * {@code MASTER_PORT} (default 29500) and optionally {@code LOCAL_RANK}. All unset means a single
 * process.
 */
public record DistEnv(int rank, int worldSize, int localRank, String masterAddr, int masterPort) {

  public static final int DEFAULT_PORT = 29500;
  public static final DistEnv SINGLE = new DistEnv(0, 1, 0, "127.0.0.1", DEFAULT_PORT);

  public static DistEnv fromEnvironment() {
    return from(System.getenv());
  }

  /** Parses the variables, reporting every bad one by name. */
  public static DistEnv from(Map<String, String> env) {
    var problems = new ArrayList<String>();
    var worldSize = integer(env, "WORLD_SIZE", 1, 1, 65536, problems);
    var rank = integer(env, "RANK", 0, 0, Math.max(0, worldSize - 1), problems);
    var localRank = integer(env, "LOCAL_RANK", rank, 0, 65535, problems);
    var port = integer(env, "MASTER_PORT", DEFAULT_PORT, 1, 65535, problems);
    var addr = env.getOrDefault("MASTER_ADDR", "");
    if (addr.isBlank()) {
      if (worldSize > 1) {
        problems.add(
            "environment: MASTER_ADDR is not set (WORLD_SIZE is "
                + worldSize
                + "; it names the host of rank 0)");
      }
      addr = "127.0.0.1";
    }
    if (!problems.isEmpty()) {
      throw new ConfigException(List.copyOf(problems));
    }
    return new DistEnv(rank, worldSize, localRank, addr, port);
  }

  public boolean distributed() {
    return worldSize > 1;
  }

  private static int integer(
      Map<String, String> env, String name, int fallback, int min, int max, List<String> problems) {
    var raw = env.get(name);
    if (raw == null || raw.isBlank()) {
      return fallback;
    }
    try {
      var value = Integer.parseInt(raw.trim());
      if (value < min || value > max) {
        problems.add(
            "environment: " + name + "=" + raw + " is out of range (" + min + ".." + max + ")");
        return fallback;
      }
      return value;
    } catch (NumberFormatException e) {
      problems.add("environment: " + name + "=" + raw + " is not an integer");
      return fallback;
    }
  }
}
