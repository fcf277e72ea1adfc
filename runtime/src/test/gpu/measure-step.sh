#!/usr/bin/env bash
# Issue 14's GPU side by side, on the device machine (after device.sh receive): the runtime's SFT
# training step (`stepwise sft`, the real trainer) against PyTorch eager (gpu_baseline.py: HF
# Qwen3ForCausalLM, bf16 autocast, fused AdamW, clip_grad_norm_) on the same GPU in the same call,
#   example  the Qwen3 reverse-text example (examples/reverse-text/sft-qwen3.toml): batch 32 x 35
#   0.6b     Qwen3-0.6B's shape (qwen3-0.6b.json, random init): batch 8 x 2019 (4 on an 80 GB card)
# each runtime jar in .device/gpu/jars (stepwise-runtime-before.jar, if there, then
# stepwise-runtime.jar), then prints the table (step_table.py). Results: $OUT/step.jsonl.
#
#   runtime/src/test/gpu/measure-step.sh [example] [0.6b]     (default: both)
# PHASES=1 adds, at 0.6b, a run of each side timed phase by phase (forward, backward, optimizer;
# the device synchronised between them) and the allocator's peak memory: $OUT/phases.txt.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
res="$out/step.jsonl"
shapes=("$@")
[[ ${#shapes[@]} -eq 0 ]] && shapes=(example 0.6b)
gpu_info
mem_mib="$(nvidia-smi --query-gpu=memory.total --format=csv,noheader,nounits | head -1)"

# Warm-up: on a fresh machine the first JVM (it also unpacks libtorch into ~/.javacpp/cache) has
# twice reported no CUDA device; the runs after it see the GPU.
$gpu/device.sh java sft @ examples/reverse-text/sft-qwen3.toml --device cuda --max-steps 1 \
  --eval.samples 0 --output-dir /tmp/swrun >/dev/null 2>&1 || echo "warm-up run failed (see README)"
for shape in "${shapes[@]}"; do
  case "$shape" in
    example)
      for v in "${versions[@]}"; do
        STEPWISE_JAR="$(jar_of $v)" python3 $gpu/timed_log.py --label "java-$v example" --from-step 100 --to-step 550 --json "$res" -- \
          $gpu/device.sh java sft @ examples/reverse-text/sft-qwen3.toml --device cuda --max-steps 600 \
          --eval.samples 0 --log.interval 50 --output-dir /tmp/swrun
      done
      python3 runtime/src/test/python/gpu_baseline.py --example --no-generate --warmup 100 --steps 500 \
        --out "$out/pytorch-example.json"
      ;;
    0.6b)
      model=/tmp/qwen3-0.6b
      mkdir -p $model
      cp examples/reverse-text/qwen3-tiny/{tokenizer.json,tokenizer_config.json,chat_template.jinja} $model/
      cp $gpu/qwen3-0.6b.json $model/config.json
      batch=8
      [[ "$mem_mib" -lt 100000 ]] && batch=4
      # max-len 1000: every sequence is the ChatML prompt (18 tokens) + 2 x 1000 + 1 = 2019 tokens.
      for v in "${versions[@]}"; do
        STEPWISE_JAR="$(jar_of $v)" python3 $gpu/timed_log.py --label "java-$v 0.6b" --from-step 5 --to-step 40 --json "$res" -- \
          $gpu/device.sh java sft --model.hf $model --model.random-init --device cuda \
          --data.min-len 1000 --data.max-len 1000 --data.batch-size $batch --max-steps 45 --log.interval 5 \
          --eval.samples 0 --output-dir /tmp/swrun
      done
      if [[ "${PHASES:-0}" == 1 ]]; then
        # Where the step's time goes: the runtime's phases with the device synchronised at each
        # boundary (-Dstepwise.profile.phases=true), beside the baseline's (--phases).
        STEPWISE_JAVA_OPTS=-Dstepwise.profile.phases=true $gpu/device.sh java sft --model.hf $model \
          --model.random-init --device cuda --data.min-len 1000 --data.max-len 1000 \
          --data.batch-size $batch --max-steps 12 --log.interval 4 --eval.samples 0 \
          --output-dir /tmp/swrun 2>&1 | grep -E "step phases|GPU memory" | tee -a "$out/phases.txt"
      fi
      python3 runtime/src/test/python/gpu_baseline.py --batch $batch --seq 2019 --no-generate --warmup 5 --steps 35 \
        ${PHASES:+$([[ $PHASES == 1 ]] && echo --phases)} --out "$out/pytorch-0.6b.json"
      ;;
  esac
done
python3 $gpu/step_table.py "$out" "$(head -1 "$out/gpu.txt")" "${batch:-8}"
