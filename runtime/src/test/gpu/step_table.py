"""Prints measure-step.sh's table from its results directory: per shape, the runtime's ms/step
(each jar timed), PyTorch eager's, their ratio, tokens/s (batch x sequence per second, padding
included: both sides compute on it) and MFU (gpu_baseline.step_flops over the card's dense bf16
peak).

    python3 step_table.py OUT_DIR "GPU NAME" BATCH_OF_0.6B
"""

import json
import sys
from pathlib import Path

root = Path(__file__).resolve().parents[4]
sys.path.insert(0, str(root / "runtime/src/test/python"))
from gpu_baseline import PEAK_BF16, qwen3_06b, step_flops  # noqa: E402
from transformers import Qwen3Config  # noqa: E402

out, gpu = Path(sys.argv[1]), sys.argv[2]
peak = next((v for k, v in PEAK_BF16.items() if k in gpu), float("nan"))
java = {}
for line in (out / "step.jsonl").read_text().splitlines():
    r = json.loads(line)
    if "ms_per_step" in r:
        java[r["label"]] = r["ms_per_step"]
shapes = {
    "example": ("qwen3-tiny example", Qwen3Config.from_pretrained(root / "examples/reverse-text/qwen3-tiny")),
    "0.6b": ("qwen3-0.6b", qwen3_06b()),
}
print(f"\nGPU: {gpu}")
print("| shape | batch x seq | runtime before (ms/step) | runtime after (ms/step) | PyTorch eager (ms/step) "
      "| after / PyTorch | tokens/s after | tokens/s PyTorch | MFU after | MFU PyTorch |")
print("|---|---|---|---|---|---|---|---|---|---|")
for key, (name, config) in shapes.items():
    pt_file = out / ("pytorch-example.json" if key == "example" else "pytorch-0.6b.json")
    if not pt_file.exists():
        continue
    pt = json.loads(pt_file.read_text())
    b, t = pt["batch"], pt["seq"]
    flops = step_flops(config, b, t)
    pt_ms = pt["sft_ms_per_step"]
    before = java.get(f"java-before {key}", float("nan"))
    after = java.get(f"java-after {key}", float("nan"))
    print(f"| {name} | {b} x {t} | {before:.2f} | {after:.2f} | {pt_ms:.2f} | {after / pt_ms:.2f} "
          f"| {b * t / after * 1e3:,.0f} | {b * t / pt_ms * 1e3:,.0f} "
          f"| {flops / (after / 1e3) / peak:.1%} | {flops / (pt_ms / 1e3) / peak:.1%} |")
