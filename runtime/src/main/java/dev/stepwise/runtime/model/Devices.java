package dev.stepwise.runtime.model;

import dev.stepwise.runtime.config.ConfigException;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.global.torch;

/**
 * The torch device of a {@code device} setting, shared by the trainers and the inference server.
 */
public final class Devices {

  private Devices() {}

  /**
   * The torch device for {@code device}; refuses {@code cuda} up front, naming the {@code device}
   * key, when this build sees no CUDA device (instead of a raw libtorch error later).
   */
  public static Device of(dev.stepwise.runtime.config.Device device) {
    return switch (device) {
      case CPU -> new Device("cpu");
      case CUDA -> {
        if (!torch.cuda_is_available()) {
          throw new ConfigException(
              "device: cuda, but no CUDA device is available to this build (the default runtime"
                  + " bundles CPU libtorch): set device = \"cpu\" (--device cpu) or run the GPU"
                  + " build on a machine with a GPU");
        }
        yield new Device("cuda");
      }
    };
  }
}
