package dev.stepwise.runtime.cli;

import dev.stepwise.runtime.config.CommandLine;
import dev.stepwise.runtime.config.ConfigException;
import dev.stepwise.runtime.config.InferenceConfig;
import dev.stepwise.runtime.config.OrchestratorConfig;
import dev.stepwise.runtime.config.RlTrainerConfig;
import dev.stepwise.runtime.rl.RlLauncher;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code stepwise rl --trainer @ train.toml --orchestrator @ orch.toml [--inference @ infer.toml]
 * --max-steps N --ckpt ...}: validates the roles' configs, then runs them as child JVMs. As in
 * prime-rl, an inference server is started only when {@code --inference @ infer.toml} is given;
 * otherwise the orchestrator uses the server at its configured {@code client.base-url} (or {@code
 * --client.base-url URL}), which rl waits for (bounded) and never stops. {@code --max-steps},
 * {@code --output-dir} and {@code --ckpt*} go to the trainer and the orchestrator ({@code
 * --output-dir} also to a started inference); {@code --<role>.<key> VALUE} goes to one role; {@code
 * --model.hf DIR} (and {@code --model.random-init}) go to trainer and inference, and the
 * orchestrator takes that directory's tokenizer. {@code --trainer.nproc N} runs the trainer as N
 * data-parallel ranks (the trainer role is then {@code trainer --nproc N}, which starts them like
 * {@code sft --nproc}).
 */
final class RlCommand {

  private static final List<String> ROLES = List.of("trainer", "orchestrator", "inference");

  private RlCommand() {}

  private static final Logger LOG = LoggerFactory.getLogger(RlCommand.class);

  static int run(List<String> args, PrintStream out) {
    var roleArgs = new LinkedHashMap<String, List<String>>();
    ROLES.forEach(r -> roleArgs.put(r, new ArrayList<>()));
    // --model.hf / --model.random-init, given after each role's own files and keys.
    var modelArgs = new LinkedHashMap<String, List<String>>();
    ROLES.forEach(r -> modelArgs.put(r, new ArrayList<>()));
    var shared = new ArrayList<String>();
    // --log.format / --log.level: this process and every role log alike.
    var logArgs = new ArrayList<String>();
    String externalUrl = null;
    String outputDir = null;
    var inferenceFiles = false;
    var problems = new ArrayList<String>();
    for (var i = 0; i < args.size(); i++) {
      var arg = args.get(i);
      if (arg.equals("--help") || arg.equals("-h")) {
        out.print(HELP);
        return 0;
      }
      var name = arg.startsWith("--") ? arg.substring(2) : null;
      var hasValue = i + 1 < args.size() && !args.get(i + 1).startsWith("--");
      if (name != null && ROLES.contains(name)) {
        var files = 0;
        while (i + 1 < args.size() && args.get(i + 1).startsWith("@")) {
          var at = args.get(++i);
          if (at.equals("@") && i + 1 < args.size()) {
            roleArgs.get(name).addAll(List.of("@", args.get(++i)));
          } else {
            roleArgs.get(name).add(at);
          }
          files++;
        }
        if (files == 0) {
          problems.add("--" + name + ": expected '@ file.toml' after it");
        }
        inferenceFiles |= name.equals("inference") && files > 0;
      } else if (name != null
          && name.indexOf('.') > 0
          && ROLES.contains(name.substring(0, name.indexOf('.')))) {
        var role = name.substring(0, name.indexOf('.'));
        roleArgs.get(role).add("--" + name.substring(role.length() + 1));
        if (hasValue) {
          roleArgs.get(role).add(args.get(++i));
        }
      } else if ("client.base-url".equals(name) && hasValue) {
        externalUrl = args.get(++i);
      } else if ("output-dir".equals(name) && hasValue) {
        outputDir = args.get(++i);
        shared.addAll(List.of(arg, outputDir));
      } else if ("max-steps".equals(name) && hasValue) {
        shared.addAll(List.of(arg, args.get(++i)));
      } else if ("model.hf".equals(name) && hasValue) {
        // The HF model directory: trainer and inference load it, the orchestrator its tokenizer.
        var dir = args.get(++i);
        modelArgs.get("trainer").addAll(List.of(arg, dir));
        modelArgs.get("inference").addAll(List.of(arg, dir));
        modelArgs.get("orchestrator").addAll(List.of("--tokenizer", dir));
      } else if ("model.random-init".equals(name)) {
        modelArgs.get("trainer").add(arg);
        modelArgs.get("inference").add(arg);
      } else if (name != null && name.startsWith("log.")) {
        logArgs.add(arg);
        if (hasValue) {
          logArgs.add(args.get(++i));
        }
      } else if (name != null
          && (name.equals("ckpt") || name.startsWith("ckpt.") || name.startsWith("no-ckpt."))) {
        shared.add(arg);
        if (hasValue) {
          shared.add(args.get(++i));
        }
      } else {
        problems.add(
            arg
                + ": unknown rl option (role files: --trainer/--orchestrator/--inference @ FILE;"
                + " role keys: --<role>.<key>; shared: --max-steps, --output-dir, --ckpt.*, --log.*,"
                + " --client.base-url, --model.hf, --model.random-init)");
      }
    }
    if (!inferenceFiles && !roleArgs.get("inference").isEmpty()) {
      problems.add(
          "--inference.<key> needs --inference @ infer.toml: rl starts an inference server only"
              + " when given its config (without it, the orchestrator uses the running server at"
              + " its client.base-url)");
    }
    if (!problems.isEmpty()) {
      throw new ConfigException(problems);
    }
    var trainerArgs = new ArrayList<>(roleArgs.get("trainer"));
    trainerArgs.addAll(modelArgs.get("trainer"));
    trainerArgs.addAll(shared);
    trainerArgs.addAll(logArgs);
    var orchestratorArgs = new ArrayList<>(roleArgs.get("orchestrator"));
    orchestratorArgs.addAll(modelArgs.get("orchestrator"));
    orchestratorArgs.addAll(shared);
    orchestratorArgs.addAll(logArgs);
    var inferenceArgs = new ArrayList<>(roleArgs.get("inference"));
    inferenceArgs.addAll(modelArgs.get("inference"));
    inferenceArgs.addAll(logArgs);
    if (outputDir != null) {
      inferenceArgs.addAll(List.of("--output-dir", outputDir));
    }
    // Validate every role here, so a typo fails before any process starts.
    var trainerConfigArgs = new ArrayList<>(trainerArgs);
    var trainerRanks = Math.max(1, SftCommand.Launch.takeNproc(trainerConfigArgs));
    validate("trainer", RlTrainerConfig.class, trainerConfigArgs);
    var startInference = inferenceFiles && externalUrl == null;
    var inference =
        startInference ? validate("inference", InferenceConfig.class, inferenceArgs) : null;
    if (startInference) {
      orchestratorArgs.addAll(
          List.of("--client.base-url", "http://127.0.0.1:" + inference.server().port()));
    } else if (externalUrl != null) {
      orchestratorArgs.addAll(List.of("--client.base-url", externalUrl));
    }
    var orchestrator = validate("orchestrator", OrchestratorConfig.class, orchestratorArgs);
    var baseUrl = orchestrator.client().baseUrl().replaceAll("/+$", "");
    if (orchestrator.batchSize() % trainerRanks != 0) {
      throw new ConfigException(
          "--trainer.nproc "
              + trainerRanks
              + ": orchestrator batch-size "
              + orchestrator.batchSize()
              + " (rollouts per step) does not split evenly across "
              + trainerRanks
              + " trainer ranks");
    }

    // Extract the native libraries once, before several JVMs would race to do it.
    org.bytedeco.javacpp.Loader.load(org.bytedeco.pytorch.global.torch.class);
    var env = new HashMap<String, String>();
    env.putIfAbsent("OMP_WAIT_POLICY", System.getenv().getOrDefault("OMP_WAIT_POLICY", "PASSIVE"));
    env.putIfAbsent(
        "OPENBLAS_NUM_THREADS", System.getenv().getOrDefault("OPENBLAS_NUM_THREADS", "1"));
    var inferenceRole =
        startInference
            ? new RlLauncher.Role("inference", java("inference", inferenceArgs), env)
            : null;
    if (!startInference) {
      LOG.info(
          "rl: using the inference server at "
              + baseUrl
              + " (not started, not stopped"
              + (inferenceFiles ? "; --client.base-url given, so --inference is not started" : "")
              + ")");
    }
    var workers =
        List.of(
            new RlLauncher.Role("trainer", java("trainer", trainerArgs), env),
            new RlLauncher.Role("orchestrator", java("orchestrator", orchestratorArgs), env));
    return new RlLauncher(Duration.ofMinutes(2)).run(inferenceRole, baseUrl + "/health", workers);
  }

  private static <T extends Record> T validate(String role, Class<T> type, List<String> args) {
    try {
      return CommandLine.parse(type, args).config();
    } catch (ConfigException e) {
      throw new ConfigException(e.problems().stream().map(p -> role + ": " + p).toList());
    }
  }

  /** The command line of a child JVM running {@code stepwise <subcommand> args}. */
  static List<String> java(String subcommand, List<String> args) {
    var command = new ArrayList<String>();
    command.add(ProcessHandle.current().info().command().orElse("java"));
    for (var option :
        java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (option.startsWith("-Xmx")
          || option.startsWith("-Djava.library")
          || option.startsWith("-Dorg.bytedeco")) {
        command.add(option);
      }
    }
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(Main.class.getName());
    command.add(subcommand);
    command.addAll(args);
    return command;
  }

  private static final String HELP =
      """
      usage: stepwise rl --trainer @ train.toml --orchestrator @ orch.toml [--inference @ infer.toml]
                         [--max-steps N] [--output-dir DIR] [--ckpt ...] [--client.base-url URL]
                         [--trainer.<key> V] [--orchestrator.<key> V] [--inference.<key> V]
                         [--trainer.nproc N] [--model.hf DIR [--model.random-init]]

      Starts the trainer and the orchestrator as child processes, and an inference server only
      when --inference @ infer.toml is given (as prime-rl does). Without it the orchestrator uses
      the server at its client.base-url (orch.toml [client] base-url, default
      http://localhost:8000, or --client.base-url URL): start one first with
      'stepwise inference @ infer.toml'; rl waits for its /health and leaves it running.
      Output lines are prefixed with the role. --max-steps,
      --output-dir and --ckpt.* are shared by the trainer and the orchestrator. If a role fails,
      the others are stopped and rl exits non-zero naming the role.
      --trainer.nproc N trains data-parallel on N local ranks (each takes 1/N of every step's
      rollouts; orchestrator batch-size must divide by N), like sft --nproc N.
      --log.format json|human and --log.level go to every role as to rl itself.
      --model.hf DIR runs a Hugging Face model directory (Qwen3, Llama) in trainer and inference,
      and the orchestrator uses its tokenizer and chat template.
      Resume: the same command with --max-steps 20 --ckpt.resume-step 10.
      """;
}
