package dev.stepwise.runtime.trainer;

import dev.stepwise.runtime.checkpoint.CheckpointStore;
import dev.stepwise.runtime.checkpoint.ModelWeights;
import dev.stepwise.runtime.checkpoint.RunLayout;
import dev.stepwise.runtime.config.TrainerConfig;
import dev.stepwise.runtime.model.ByteTokenizer;
import dev.stepwise.runtime.model.Devices;
import dev.stepwise.runtime.model.HfTokenizer;
import dev.stepwise.runtime.model.HfWeights;
import dev.stepwise.runtime.model.Policy;
import dev.stepwise.runtime.model.TextCodec;
import dev.stepwise.runtime.model.Threads;
import dev.stepwise.runtime.model.Transformer;
import java.nio.file.Path;
import java.util.Map;
import java.util.OptionalLong;
import java.util.function.Function;
import org.bytedeco.pytorch.Device;

/**
 * The prologue every trainer (SFT, RL) runs before its first step, in this order: pinned threads,
 * the device, the run layout and checkpoint store, the model (the byte-level toy transformer,
 * freshly initialised, or a Hugging Face model directory with its tokenizer), its optimizer and the
 * learning-rate schedule ({@link #of}); then the state the run starts from ({@link #start}).
 */
public record TrainerSetup(
    TrainerConfig config,
    Threads threads,
    Device device,
    RunLayout layout,
    CheckpointStore store,
    Policy model,
    TextCodec codec,
    AdamW optimizer,
    LrSchedule schedule) {

  /**
   * Where a run starts: the step of its own checkpoint it resumed from (model, optimizer and
   * progress), else the init checkpoint its model weights came from (null when none: a fresh
   * model), and the progress so far.
   */
  public record Start(OptionalLong resumedFrom, Path initialisedFrom, Progress progress) {}

  /**
   * Pins the threads, opens the device, lays out the run under {@code output-dir} (its checkpoints
   * where {@code ckpt} says, or the default place without checkpointing) and builds the model from
   * {@code seed}, with its optimizer and schedule.
   */
  public static TrainerSetup of(TrainerConfig config) {
    var pinned = Threads.pin(config.threads());
    var torchDevice = Devices.of(config.device());
    var ckpt = config.ckpt();
    var layout =
        new RunLayout(
            Path.of(config.outputDir()), ckpt == null ? RunLayout.DEFAULT_CHECKPOINTS : ckpt.dir());
    var store = new CheckpointStore(layout);
    var model = config.model();
    Policy policy;
    TextCodec codec;
    if (model.isHf()) {
      var dir = Path.of(model.hf());
      var hf = HfWeights.load(dir, torchDevice, config.seed(), model.randomInit());
      policy = hf;
      codec = HfTokenizer.load(dir, hf.vocabSize());
    } else {
      policy = new Transformer(model, ByteTokenizer.VOCAB_SIZE, torchDevice, config.seed());
      codec = ByteTokenizer.CODEC;
    }
    var optimizer = new AdamW(policy.parameters(), config.optim());
    var schedule = new LrSchedule(config.scheduler(), config.optim().lr());
    return new TrainerSetup(
        config, pinned, torchDevice, layout, store, policy, codec, optimizer, schedule);
  }

  /**
   * Restores the state this rank starts from: the checkpoint {@code ckpt.resume-step} (or {@code
   * ckpt.recover}) points at, saying so (after {@code logPrefix}) on rank 0; else, for a fresh run
   * with {@code init}, that checkpoint's model weights (a fresh optimizer).
   */
  public Start start(int rank, int worldSize, String logPrefix) {
    var from = store.resolveStart(config.ckpt());
    if (from.isPresent()) {
      var restored =
          TrainerCheckpoint.resume(
              store,
              from.getAsLong(),
              model.parameters(),
              optimizer,
              rank,
              worldSize,
              config.maxSteps(),
              logPrefix);
      return new Start(from, null, restored.progress());
    }
    if (config.init() != null) {
      var init = Path.of(config.init().checkpoint());
      ModelWeights.initFrom(init, model.parameters());
      return new Start(from, init, Progress.START);
    }
    return new Start(from, null, Progress.START);
  }

  /**
   * How this rank's state at {@code progress} is snapshot into the saver's buffers ({@link
   * TrainerCheckpoint#capture}); {@code data} says how its input resumes ({@link
   * TrainerCheckpoint#rankState}).
   */
  public Function<HostBuffers, TrainerCheckpoint.Snapshot> capture(
      Progress progress, Map<String, Object> data, String configToml, int rank, int worldSize) {
    var state = TrainerCheckpoint.rankState(rank, worldSize, config.seed(), threads, data);
    return buffers ->
        TrainerCheckpoint.capture(
            model.parameters(),
            optimizer,
            progress,
            schedule,
            state,
            configToml,
            rank,
            worldSize,
            buffers);
  }

  /** {@code device cpu | threads torch=1 blas=1}: the part of a trainer's first line they share. */
  public String describe() {
    return String.format(
        "device %s | threads torch=%d blas=%s",
        device.str().getString(), threads.torchThreads(), threads.blasThreads());
  }
}
