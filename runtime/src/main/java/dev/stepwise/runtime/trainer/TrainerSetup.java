package dev.stepwise.runtime.trainer;

import dev.stepwise.runtime.checkpoint.CheckpointStore;
import dev.stepwise.runtime.checkpoint.RunLayout;
import dev.stepwise.runtime.config.CkptConfig;
import dev.stepwise.runtime.config.ModelConfig;
import dev.stepwise.runtime.config.OptimConfig;
import dev.stepwise.runtime.config.SchedulerConfig;
import dev.stepwise.runtime.model.ByteTokenizer;
import dev.stepwise.runtime.model.Devices;
import dev.stepwise.runtime.model.HfTokenizer;
import dev.stepwise.runtime.model.HfWeights;
import dev.stepwise.runtime.model.Policy;
import dev.stepwise.runtime.model.TextCodec;
import dev.stepwise.runtime.model.Threads;
import dev.stepwise.runtime.model.Transformer;
import java.nio.file.Path;
import org.bytedeco.pytorch.Device;

/**
 * What every trainer (SFT, RL) sets up before its first step, in this order: pinned threads, the
 * device, the run layout and checkpoint store, the model (the byte-level toy transformer, freshly
 * initialised, or a Hugging Face model directory with its tokenizer), its optimizer and the
 * learning-rate schedule.
 */
public record TrainerSetup(
    Threads threads,
    Device device,
    RunLayout layout,
    CheckpointStore store,
    Policy model,
    TextCodec codec,
    AdamW optimizer,
    LrSchedule schedule) {

  /**
   * Pins {@code threads}, opens {@code device}, lays out the run under {@code outputDir} (its
   * checkpoints where {@code ckpt} says, or the default place without checkpointing) and builds the
   * model from {@code seed}, with its optimizer and schedule.
   */
  public static TrainerSetup of(
      int threads,
      dev.stepwise.runtime.config.Device device,
      String outputDir,
      CkptConfig ckpt,
      ModelConfig model,
      long seed,
      OptimConfig optim,
      SchedulerConfig scheduler) {
    var pinned = Threads.pin(threads);
    var torchDevice = Devices.of(device);
    var layout =
        new RunLayout(
            Path.of(outputDir), ckpt == null ? RunLayout.DEFAULT_CHECKPOINTS : ckpt.dir());
    var store = new CheckpointStore(layout);
    Policy policy;
    TextCodec codec;
    if (model.isHf()) {
      var dir = Path.of(model.hf());
      var hf = HfWeights.load(dir, torchDevice, seed, model.randomInit());
      policy = hf;
      codec = HfTokenizer.load(dir, hf.vocabSize());
    } else {
      policy = new Transformer(model, ByteTokenizer.VOCAB_SIZE, torchDevice, seed);
      codec = ByteTokenizer.CODEC;
    }
    var optimizer = new AdamW(policy.parameters(), optim);
    var schedule = new LrSchedule(scheduler, optim.lr());
    return new TrainerSetup(pinned, torchDevice, layout, store, policy, codec, optimizer, schedule);
  }
}
