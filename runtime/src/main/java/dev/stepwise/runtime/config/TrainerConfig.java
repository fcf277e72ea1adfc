package dev.stepwise.runtime.config;

/**
 * What every trainer's configuration (SFT, RL) has: the part its shared prologue ({@code
 * trainer.TrainerSetup}) and its metrics ({@code metrics.TrainerMetrics}) read.
 */
public interface TrainerConfig {

  int maxSteps();

  long seed();

  Device device();

  String outputDir();

  int threads();

  ModelConfig model();

  InitConfig init();

  OptimConfig optim();

  SchedulerConfig scheduler();

  CkptConfig ckpt();

  ProgressConfig progress();

  MetricsConfig metrics();
}
