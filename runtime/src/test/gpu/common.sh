# What the measure-*.sh scripts share; sourced, not run. Moves to the repository root and sets:
#   gpu       this folder, relative to the root
#   out       where results go ($OUT, else /tmp/stepwise-gpu-out), created
#   versions  the runtime builds to time: "before" when .device/gpu/jars/stepwise-runtime-before.jar
#             is there, then "after" (.device/gpu/jars/stepwise-runtime.jar); jar_of names the jar
# and gpu_info prints the card (and keeps it in $out/gpu.txt).
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../.." && pwd)"
cd "$repo" || exit 1
gpu=runtime/src/test/gpu
out="${OUT:-/tmp/stepwise-gpu-out}"
mkdir -p "$out"
versions=()
[[ -f .device/gpu/jars/stepwise-runtime-before.jar ]] && versions+=(before)
versions+=(after)
jar_of() { [[ "$1" == before ]] && echo .device/gpu/jars/stepwise-runtime-before.jar || echo .device/gpu/jars/stepwise-runtime.jar; }
gpu_info() { nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.txt"; }
