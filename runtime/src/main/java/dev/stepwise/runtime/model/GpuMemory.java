package dev.stepwise.runtime.model;

import java.util.Optional;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.cuda.CUDAAllocator;
import org.bytedeco.pytorch.global.torch_cuda;

/**
 * What libtorch's CUDA caching allocator saw on a device: peak bytes allocated and reserved, and
 * how often it had to free its cache and retry an allocation (each retry synchronises the device, a
 * stall a training step pays when its peak is close to the card's memory).
 */
public final class GpuMemory {

  private static final double GIB = 1024.0 * 1024 * 1024;

  private GpuMemory() {}

  /**
   * {@code GPU memory: peak 41.2 GiB allocated, 44.0 GiB reserved, 0 allocator retries, 12
   * cudaMalloc, 0 cudaFree}, or empty when {@code device} is not a CUDA device (the CPU build has
   * no CUDA classes to ask).
   */
  public static Optional<String> summary(Device device) {
    if (!device.is_cuda()) {
      return Optional.empty();
    }
    var index = device.has_index() ? device.index() : torch_cuda.current_device();
    // The caching allocator is a CUDAAllocator behind the generic Allocator pointer.
    var allocator = new CUDAAllocator(torch_cuda.getCUDADeviceAllocator());
    var stats = allocator.getDeviceStats(index);
    return Optional.of(
        String.format(
            "GPU memory: peak %.1f GiB allocated, %.1f GiB reserved, %d allocator retries,"
                + " %d cudaMalloc, %d cudaFree",
            stats.allocated_bytes().peak() / GIB,
            stats.reserved_bytes().peak() / GIB,
            stats.num_alloc_retries(),
            stats.num_device_alloc(),
            stats.num_device_free()));
  }
}
