#!/usr/bin/env bash
# Issue 13 on the device machine (after device.sh receive), with the runtime jar in
# .device/gpu/jars/stepwise-runtime.jar:
#   gpu  `stepwise bench --device cuda` at a ~100M-parameter shape (toy transformer d-model 1024,
#        8 layers: 1.2 GB of model + AdamW state): stall per async save (the training loop blocked
#        by the snapshot to pinned host memory) against a device-to-host copy of the same bytes and
#        the no-save step; plus the I/O rows and the Python peers (torch.save/torch.load,
#        safetensors) on the same state and disk
#   cpu  `stepwise bench` as the README runs it (19M parameters, 230 MB, one torch thread) on the
#        machine's quiet cores: steps during a background write against the no-save step
# Output: $OUT/bench-<what>.txt. The scratch directory is on the root disk (not /tmp, which may be
# memory): BENCH_DIR overrides it.
#
#   runtime/src/test/gpu/measure-ckpt.sh [gpu] [cpu] [cpu4]    (default: gpu cpu)
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
dir="${BENCH_DIR:-/root/stepwise-bench}"
mkdir -p "$dir"
what=("$@")
[[ ${#what[@]} -eq 0 ]] && what=(gpu cpu)
echo "disk: $(df -h --output=source,fstype,size,avail "$dir" | tail -1); $(nproc) cores"
for w in "${what[@]}"; do
  case "$w" in
    gpu)
      $gpu/device.sh java bench --device cuda --model.d-model 1024 --model.n-layers 8 --model.n-heads 16 \
        --model.d-ff 4096 --repeats 2 --steps 240 --save-every 80 --output-dir "$dir" 2>&1 | tee "$out/bench-gpu.txt"
      ;;
    cpu)
      $gpu/device.sh java bench --output-dir "$dir" 2>&1 | tee "$out/bench-cpu.txt"
      ;;
    cpu4)
      $gpu/device.sh java bench --threads 4 --output-dir "$dir" 2>&1 | tee "$out/bench-cpu4.txt"
      ;;
  esac
done
