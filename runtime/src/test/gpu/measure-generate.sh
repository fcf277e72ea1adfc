#!/usr/bin/env bash
# Issue 14's generation side by side, on the device machine (after device.sh receive): the
# inference server (`stepwise inference`, KV cache, random-init Qwen3 at the 0.6B shape of
# qwen3-0.6b.json, bf16 on CUDA) timed over HTTP by generate_client.py, against Hugging Face
# `generate` (gpu_baseline.py --generate-only: bf16, greedy, KV cache) on the same GPU in the same
# call. Both: prompt 128 random token ids, 128 new tokens every row, batch 1 and 32. Each runtime
# jar in .device/gpu/jars (stepwise-runtime-before.jar, if there, then stepwise-runtime.jar).
# Results: $OUT/generate.jsonl, $OUT/hf-generate.json; prints the table.
#
#   runtime/src/test/gpu/measure-generate.sh
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
res="$out/generate.jsonl"
gpu_info
model=/tmp/qwen3-0.6b
mkdir -p $model
cp examples/reverse-text/qwen3-tiny/{tokenizer.json,tokenizer_config.json,chat_template.jinja} $model/
cp $gpu/qwen3-0.6b.json $model/config.json

# Warm-up on a fresh machine: the first JVM unpacks libtorch into ~/.javacpp/cache and has twice
# reported no CUDA device (README); the runs after it see the GPU.
[[ -d ~/.javacpp/cache ]] || $gpu/device.sh java sft @ examples/reverse-text/sft-qwen3.toml --device cuda \
  --max-steps 1 --eval.samples 0 --output-dir /tmp/swrun >/dev/null 2>&1 || echo "warm-up run failed (see README)"
port=8731
for v in "${versions[@]}"; do
  log="$out/inference-$v.log"
  STEPWISE_JAR="$(jar_of $v)" $gpu/device.sh java inference --model.hf $model --model.random-init \
    --device cuda --server.host 127.0.0.1 --server.port $port --output-dir /tmp/swinf >"$log" 2>&1 &
  pid=$!
  up=0
  for _ in $(seq 1 240); do
    if python3 -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$port/health', timeout=2)" 2>/dev/null; then
      up=1; break
    fi
    if ! kill -0 $pid 2>/dev/null; then break; fi
    sleep 0.5
  done
  if [[ $up == 1 ]]; then
    python3 $gpu/generate_client.py --label "java-$v" --port $port --json "$res"
  else
    echo "inference server ($v) did not come up:"; tail -30 "$log"
  fi
  kill $pid 2>/dev/null; wait $pid 2>/dev/null
  grep -E "tok/s" "$log" | tail -4
  port=$((port + 1))
done
# HF_GENERATE=0 skips the baseline (a second call on the same warm machine that has its figures).
[[ "${HF_GENERATE:-1}" == 0 ]] && exit 0
python3 runtime/src/test/python/gpu_baseline.py --generate-only --out "$out/hf-generate.json"
python3 - "$out" <<'PY'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
gpu = (out / "gpu.txt").read_text().splitlines()[0]
java = {}
for line in (out / "generate.jsonl").read_text().splitlines() if (out / "generate.jsonl").exists() else []:
    r = json.loads(line)
    java[r["label"]] = r
hf = json.loads((out / "hf-generate.json").read_text())
print(f"\nGPU: {gpu}; HF transformers {hf.get('transformers')}, torch {hf.get('torch')}")
print("| batch | prompt + new | runtime before (tok/s) | runtime after (tok/s) | HF generate (tok/s) | after / HF |")
print("|---|---|---|---|---|---|")
for b in (1, 32):
    key = f"generate_b{b}_tokens_per_s"
    before = java.get("java-before", {}).get(key, float("nan"))
    after = java.get("java-after", {}).get(key, float("nan"))
    print(f"| {b} | {hf['prompt_len']} + {hf['new_tokens']} | {before:,.0f} | {after:,.0f} | {hf[key]:,.0f} | {after / hf[key]:.2f} |")
PY
