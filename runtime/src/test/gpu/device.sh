#!/usr/bin/env bash
# The runtime on the GPU device machine (no Java, no network there; its Python has PyTorch with
# the CUDA 13 libraries). Run from the repository root on that machine:
#
#   runtime/src/test/gpu/device.sh receive      moves the bundle part(s) carried in .device/gpu/ to
#                                               $SWGPU/parts; once all parts are in (manifest.txt),
#                                               checks the SHA-256 and unpacks JRE + jars to $SWGPU
#   runtime/src/test/gpu/device.sh java ARGS    runs the runtime's CLI (sft, bench, ...) on the GPU
#                                               build: STEPWISE_JAR picks the runtime jar
#                                               (default .device/gpu/jars/stepwise-runtime.jar);
#                                               jars in .device/gpu/jars/lib/ come before the
#                                               bundle's (libraries added since it was packed)
#
# bundle.sh (run where the project builds) makes the parts and the manifest.
set -euo pipefail
SWGPU="${SWGPU:-/tmp/stepwise-gpu}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../.." && pwd)"

case "${1:-}" in
  receive)
    mkdir -p "$SWGPU/parts"
    cp "$repo/.device/gpu/manifest.txt" "$SWGPU/manifest.txt"
    for part in "$repo"/.device/gpu/part-*; do
      [[ -e "$part" ]] && mv "$part" "$SWGPU/parts/"
    done
    expected="$(grep -c '^part ' "$SWGPU/manifest.txt")"
    have="$(ls "$SWGPU/parts" | wc -l)"
    echo "device.sh: $have of $expected parts received"
    if [[ "$have" -lt "$expected" ]]; then exit 0; fi
    sha="$(awk '/^sha256 /{print $2}' "$SWGPU/manifest.txt")"
    got="$(cat "$SWGPU"/parts/part-* | sha256sum | cut -d' ' -f1)"
    if [[ "$sha" != "$got" ]]; then
      echo "device.sh: bundle SHA-256 $got, manifest says $sha" >&2
      exit 1
    fi
    rm -rf "$SWGPU/jre" "$SWGPU/lib" "$SWGPU/gpu"
    if command -v xz >/dev/null; then
      cat "$SWGPU"/parts/part-* | xz -d -T0 | tar -x -C "$SWGPU"
    else
      cat "$SWGPU"/parts/part-* | python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.stdin.buffer), sys.stdout.buffer)' | tar -x -C "$SWGPU"
    fi
    rm -rf "$SWGPU/parts"
    du -sh "$SWGPU"/{jre,lib,gpu}
    "$SWGPU/jre/bin/java" -version
    ;;
  java)
    shift
    site="$(python3 -c 'import os, torch; print(os.path.dirname(os.path.dirname(torch.__file__)))' 2>/dev/null || true)"
    if [[ -n "$site" && -d "$site/nvidia" ]]; then
      # The CUDA 13 libraries of NVIDIA's wheels that PyTorch installed (cudart, cuBLAS, cuDNN, ...).
      cuda_libs="$(find "$site/nvidia" -name 'lib*.so*' -printf '%h\n' | sort -u | paste -sd:)"
      export LD_LIBRARY_PATH="$cuda_libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    fi
    export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}" OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
    # DJL's tokenizers library sees CUDA, looks for a CUDA build of its native library that its jar
    # lacks and tries to download one: point it at the jar's CPU build instead.
    tok="$SWGPU/tokenizers/libtokenizers.so"
    if [[ ! -f "$tok" ]]; then
      mkdir -p "$SWGPU/tokenizers"
      python3 - "$tok" "$SWGPU"/lib/tokenizers-*.jar <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[2]) as z, open(sys.argv[1], "wb") as f:
    f.write(z.read("native/lib/linux-x86_64/cpu/libtokenizers.so"))
PY
    fi
    export RUST_LIBRARY_PATH="${RUST_LIBRARY_PATH:-$tok}"
    jar="${STEPWISE_JAR:-$repo/.device/gpu/jars/stepwise-runtime.jar}"
    # STEPWISE_JAVA_OPTS come last (so they can override the extension); STEPWISE_EXTRA_CP is
    # prepended to the class path (a local check of the bundle with the CPU libtorch jar).
    exec "$SWGPU/jre/bin/java" -Dorg.bytedeco.javacpp.platform.extension=-gpu ${STEPWISE_JAVA_OPTS:-} \
      -cp "${STEPWISE_EXTRA_CP:+$STEPWISE_EXTRA_CP:}$jar:$repo/.device/gpu/jars/lib/*:$SWGPU/gpu/*:$SWGPU/lib/*" dev.stepwise.runtime.cli.Main "$@"
    ;;
  *)
    sed -n '2,12p' "$0"
    exit 2
    ;;
esac
