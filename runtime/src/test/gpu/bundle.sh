#!/usr/bin/env bash
# Packs what the GPU device machine needs to run the runtime (it has no Java and no network) into
# parts small enough for one device call each (the tool carries at most 64 MiB a call):
#   jre/   a JRE 17 jlinked from this JDK (the module list of images/build.py)
#   lib/   runtime/target/lib minus the CPU libtorch jar; the tokenizers jar keeps linux-x86_64 only
#   gpu/   org.bytedeco:pytorch:2.10.0-1.5.13:linux-x86_64-gpu with libtorch_cuda.so's cubins for
#          every architecture but sm_90 (H100/H200) zeroed (fatbin_keep.py), stored uncompressed so
#          that xz packs it; org.bytedeco:cuda:13.1-9.19-1.5.13 (+ linux-x86_64)
# as .device/gpu/part-NN (xz tar, split) + .device/gpu/manifest.txt (part names, SHA-256), and the
# runtime jar separately in .device/gpu/jars/ (small: it travels with every measuring call).
#
#   mvn -B -ntp -o -pl crds,runtime package -DskipTests && runtime/src/test/gpu/bundle.sh
#   STEPWISE_BEFORE_JAR=path/to/other/stepwise-runtime.jar runtime/src/test/gpu/bundle.sh   (adds it
#   as jars/stepwise-runtime-before.jar, for before/after timings in one call)
# BUNDLE_STAGE_ONLY=1 stops before packing (the staged tree can be checked on the CPU, see below).
# BUNDLE_OUT puts the output elsewhere (e.g. a worktree's build, for the checkout that the device
# tool sends).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../.." && pwd)"
here="$repo/runtime/src/test/gpu"
out="${BUNDLE_OUT:-$repo/.device/gpu}"  # the device tool carries .device/ of the checkout it runs
m2="${M2_REPO:-$HOME/.m2/repository}"
pytorch_gpu="$m2/org/bytedeco/pytorch/2.10.0-1.5.13/pytorch-2.10.0-1.5.13-linux-x86_64-gpu.jar"
cuda_jars=("$m2/org/bytedeco/cuda/13.1-9.19-1.5.13/cuda-13.1-9.19-1.5.13.jar"
           "$m2/org/bytedeco/cuda/13.1-9.19-1.5.13/cuda-13.1-9.19-1.5.13-linux-x86_64.jar")
jre_modules="java.base,java.compiler,java.desktop,java.instrument,java.logging,java.management,java.naming,java.net.http,java.prefs,java.scripting,java.security.jgss,java.security.sasl,java.sql,java.transaction.xa,java.xml,jdk.crypto.cryptoki,jdk.crypto.ec,jdk.httpserver,jdk.management,jdk.naming.dns,jdk.net,jdk.unsupported,jdk.zipfs"

for f in "$repo/runtime/target/stepwise-runtime.jar" "$pytorch_gpu" "${cuda_jars[@]}"; do
  if [[ ! -f "$f" ]]; then
    echo "bundle.sh: missing $f" >&2
    echo "  build: mvn -B -ntp -pl crds,runtime package -DskipTests; GPU jars: python3 images/build.py runtime-gpu" >&2
    echo "  (or mvn dependency:get -Dartifact=org.bytedeco:pytorch:2.10.0-1.5.13:jar:linux-x86_64-gpu)" >&2
    exit 1
  fi
done

mkdir -p "$out/jars"
cp "$repo/runtime/target/stepwise-runtime.jar" "$out/jars/stepwise-runtime.jar"
if [[ -n "${STEPWISE_BEFORE_JAR:-}" ]]; then
  cp "$STEPWISE_BEFORE_JAR" "$out/jars/stepwise-runtime-before.jar"
fi

# The bundle depends only on its inputs: rebuilt when the dependency jars change.
key="$(cat "$pytorch_gpu.sha1" "${cuda_jars[@]/%/.sha1}" 2>/dev/null | sha256sum | cut -c1-12)-$(ls "$repo/runtime/target/lib" | sha256sum | cut -c1-12)-$(echo "$jre_modules" | sha256sum | cut -c1-8)"
if [[ -f "$out/manifest.txt" ]] && grep -q "^key $key$" "$out/manifest.txt"; then
  echo "bundle.sh: parts for $key are up to date; jars/ refreshed"
  exit 0
fi
cache="${BUNDLE_CACHE:-$HOME/.cache/stepwise/gpu-bundle}"
stage="$cache/stage"
rm -rf "$stage"
mkdir -p "$stage"
rm -f "$out"/part-* "$out/manifest.txt"

echo "bundle.sh: jlink JRE"
jlink --add-modules "$jre_modules" --strip-debug --no-header-files --no-man-pages --compress=2 --output "$stage/jre"

echo "bundle.sh: runtime libraries"
mkdir -p "$stage/lib" "$stage/gpu"
for jar in "$repo"/runtime/target/lib/*.jar; do
  case "$(basename "$jar")" in
    pytorch-*-linux-x86_64.jar) ;;  # the CPU libtorch: the GPU jar replaces it
    tokenizers-*.jar)
      cp "$jar" "$stage/lib/"
      python3 - "$stage/lib/$(basename "$jar")" <<'PY'
import shutil, sys, zipfile
path = sys.argv[1]
parts = lambda n: n.split("/")
# native/lib/<platform>/...: only linux-x86_64 (native/lib/tokenizers.properties and the rest stay).
keep = lambda n: not (n.startswith("native/lib/") and len(parts(n)) > 3 and parts(n)[2] != "linux-x86_64")
with zipfile.ZipFile(path) as src, zipfile.ZipFile(path + ".new", "w", zipfile.ZIP_DEFLATED) as dst:
    for info in src.infolist():
        if keep(info.filename):
            dst.writestr(info, src.read(info.filename))
shutil.move(path + ".new", path)
PY
      ;;
    *) cp "$jar" "$stage/lib/" ;;
  esac
done
cp "${cuda_jars[@]}" "$stage/gpu/"

shrunk="$cache/$(cut -c1-12 "$pytorch_gpu.sha1")-sm90-$(basename "$pytorch_gpu")"
if [[ ! -f "$shrunk" ]]; then
  echo "bundle.sh: libtorch_cuda.so: zero every cubin but sm_90"
  python3 - "$pytorch_gpu" "$shrunk.tmp" "$here/fatbin_keep.py" <<'PY'
import os, subprocess, sys, tempfile, zipfile
src, dst, keep = sys.argv[1:]
with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
    for info in zin.infolist():
        data = zin.read(info.filename)
        if info.filename.endswith("/libtorch_cuda.so"):
            with tempfile.NamedTemporaryFile(dir=os.path.dirname(dst), delete=False) as tmp:
                tmp.write(data)
            subprocess.run([sys.executable, keep, tmp.name, "90"], check=True)
            data = open(tmp.name, "rb").read()
            os.unlink(tmp.name)
        # Stored, not deflated: xz compresses the whole bundle far better than zip's deflate.
        info.compress_type = zipfile.ZIP_STORED
        zout.writestr(info, data)
PY
  mv "$shrunk.tmp" "$shrunk"
fi
cp "$shrunk" "$stage/gpu/$(basename "$pytorch_gpu")"

if [[ -n "${BUNDLE_STAGE_ONLY:-}" ]]; then
  # Check it on the CPU first: SWGPU=$stage STEPWISE_JAVA_OPTS=-Dorg.bytedeco.javacpp.platform.extension=
  # STEPWISE_EXTRA_CP=runtime/target/lib/pytorch-2.10.0-1.5.13-linux-x86_64.jar device.sh java sft ...
  echo "bundle.sh: staged in $stage"
  exit 0
fi
echo "bundle.sh: xz (a few minutes)"
tar -C "$stage" -cf - jre lib gpu | nice xz -T"${XZ_THREADS:-2}" -"${XZ_LEVEL:-6}" > "$stage/bundle.tar.xz"
split -b 56M -d "$stage/bundle.tar.xz" "$out/part-"
{
  echo "key $key"
  echo "sha256 $(sha256sum "$stage/bundle.tar.xz" | cut -d' ' -f1)"
  for p in "$out"/part-*; do echo "part $(basename "$p") $(stat -c %s "$p")"; done
} > "$out/manifest.txt"
rm -f "$stage/bundle.tar.xz"
cat "$out/manifest.txt"
