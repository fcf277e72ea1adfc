"""PyTorch eager baseline for the GPU side-by-side of issue 14 (the Java column is not measured yet).

The Qwen3-0.6B shape with random weights: one SFT step (bf16 autocast, fp32 master weights and
AdamW state, batch x sequence of a real SFT step) timed as ms/step, tokens/s and MFU; and HF
`generate` tokens/s at batch 1 and 32 (greedy, KV cache). Run on the device machine:

    python3 runtime/src/test/python/gpu_baseline.py --out $OUT/baseline.json

--example times the same step at the shape of the Qwen3 reverse-text example
(examples/reverse-text/qwen3-tiny, batch 32 x 35 tokens) on the GPU, beside the runtime's
`sft @ examples/reverse-text/sft-qwen3.toml --device cuda` (runtime/src/test/gpu/measure-step.sh
runs both). --no-generate skips the generate figures. Step times are the mean over --steps steps
after --warmup, with one synchronisation at the end (as a training loop that logs now and then).

--cpu-example times instead, on one CPU thread in fp32, the SFT step of the Qwen3 reverse-text
example (examples/reverse-text/qwen3-tiny, batch 32 x 35 tokens), to set beside the runtime's
`sft @ examples/reverse-text/sft-qwen3.toml --max-steps 200 --eval.samples 0` training time.
--cpu-generate times HF generate on the tiny Qwen3 fixture (batch 1 and 32, 64 new tokens), to set
beside the runtime's inference server on the same model (`inference --model.hf
runtime/src/test/resources/hf/qwen3`, POST /v1/completions with n = 1 and 32, max_tokens 64).
"""

import argparse
import json
import time

import torch
from transformers import Qwen3Config, Qwen3ForCausalLM

PEAK_BF16 = {"H100": 989e12, "H200": 989e12}


def qwen3_06b():
    return Qwen3Config(
        vocab_size=151936,
        hidden_size=1024,
        intermediate_size=3072,
        num_hidden_layers=28,
        num_attention_heads=16,
        num_key_value_heads=8,
        head_dim=128,
        max_position_embeddings=40960,
        rope_theta=1_000_000.0,
        tie_word_embeddings=True,
        attn_implementation="sdpa",
    )


def step_flops(c, batch, seq):
    """Matmul FLOPs of forward + backward (6 per parameter-token, causal attention halved)."""
    h, q, kv, f = c.hidden_size, c.num_attention_heads * c.head_dim, c.num_key_value_heads * c.head_dim, c.intermediate_size
    per_layer = h * q + 2 * h * kv + q * h + 3 * h * f
    matmul_params = c.num_hidden_layers * per_layer + c.vocab_size * h
    tokens = batch * seq
    attention = 6 * batch * c.num_hidden_layers * seq * seq * q  # QK^T and PV, fwd+bwd, causal/2
    return 6 * tokens * matmul_params + attention


def sync_time(fn, warmup, repeat):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2]


def loop_time(fn, warmup, steps):
    """Mean seconds per call over `steps` calls after `warmup`, synchronising only at the ends."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - start) / steps


def cpu_example():
    from pathlib import Path

    torch.set_num_threads(1)
    torch.manual_seed(0)
    root = Path(__file__).resolve().parents[4]
    config = Qwen3Config.from_pretrained(root / "examples/reverse-text/qwen3-tiny")
    model = Qwen3ForCausalLM(config).float()
    opt = torch.optim.AdamW(model.parameters(), lr=5e-3, weight_decay=0.01)
    ids = torch.randint(0, config.vocab_size, (32, 35))

    def step():
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)

    for _ in range(20):
        step()
    start = time.perf_counter()
    for _ in range(200):
        step()
    seconds = (time.perf_counter() - start) / 200
    print(f"PyTorch {torch.__version__} eager, 1 thread, fp32: {seconds * 1e3:.1f} ms/step "
          f"({32 * 35 / seconds:,.0f} tokens/s) for the Qwen3 example shape")


def cpu_generate():
    """HF generate on one CPU thread, tiny Qwen3 fixture, 16-token prompt, 64 sampled tokens."""
    from pathlib import Path

    torch.set_num_threads(1)
    root = Path(__file__).resolve().parents[4]
    model = Qwen3ForCausalLM.from_pretrained(root / "runtime/src/test/resources/hf/qwen3").eval()
    prompt = torch.tensor([[5, 17, 33, 48, 60, 71, 80, 99, 120, 140, 150, 160, 170, 180, 190, 200]])
    for batch in (1, 32, 1, 32):
        ids = prompt.repeat(batch, 1)
        start = time.perf_counter()
        with torch.no_grad():
            model.generate(ids, max_new_tokens=64, min_new_tokens=64, do_sample=True,
                           temperature=1.0, pad_token_id=0)
        seconds = time.perf_counter() - start
        print(f"HF generate batch {batch}: {batch * 64 / seconds:,.0f} tokens/s")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seq", type=int, default=2048)
    parser.add_argument("--out", default="baseline.json")
    parser.add_argument("--cpu-example", action="store_true")
    parser.add_argument("--example", action="store_true")
    parser.add_argument("--no-generate", action="store_true")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--cpu-generate", action="store_true")
    parser.add_argument("--generate-only", action="store_true",
                        help="only the generate figures, on a bf16 model (measure-generate.sh)")
    parser.add_argument("--phases", action="store_true",
                        help="after the timed steps, time forward, backward and optimizer apart, "
                             "synchronising the device between them (the runtime's "
                             "-Dstepwise.profile.phases=true)")
    parser.add_argument("--prompt-len", type=int, default=128)
    parser.add_argument("--new-tokens", type=int, default=128)
    args = parser.parse_args()
    if args.cpu_example:
        cpu_example()
        return
    if args.cpu_generate:
        cpu_generate()
        return
    torch.manual_seed(0)
    name = torch.cuda.get_device_name()
    peak = next((v for k, v in PEAK_BF16.items() if k in name), float("nan"))
    if args.example:
        from pathlib import Path

        root = Path(__file__).resolve().parents[4]
        config = Qwen3Config.from_pretrained(root / "examples/reverse-text/qwen3-tiny")
        args.batch, args.seq = 32, 35
    else:
        config = qwen3_06b()
    if args.generate_only:
        with torch.device("cuda"):
            model = Qwen3ForCausalLM(config).to(torch.bfloat16).eval()
        result = {"device": name, "torch": torch.__version__, "shape": "qwen3-0.6b",
                  "params": sum(p.numel() for p in model.parameters())}
        generate(model, config, args, result)
        return
    with torch.device("cuda"):
        model = Qwen3ForCausalLM(config).float()
    params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=True)
    ids = torch.randint(0, config.vocab_size, (args.batch, args.seq), device="cuda")

    def sft_step():
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)

    try:
        step = loop_time(sft_step, warmup=args.warmup, steps=args.steps)
    except torch.OutOfMemoryError:
        # Fall back to half the batch on a card with less memory.
        opt.zero_grad(set_to_none=True)
        torch.cuda.empty_cache()
        args.batch //= 2
        ids = ids[: args.batch].contiguous()
        step = loop_time(sft_step, warmup=args.warmup, steps=args.steps)
    memory = torch.cuda.memory_stats()
    phases = sft_phases(model, opt, ids, args.steps) if args.phases else None
    tokens = args.batch * args.seq
    flops = step_flops(config, args.batch, args.seq)
    result = {
        "device": name,
        "torch": torch.__version__,
        "params": params,
        "batch": args.batch,
        "seq": args.seq,
        "shape": "qwen3-tiny example" if args.example else "qwen3-0.6b",
        "steps_timed": args.steps,
        "sft_ms_per_step": step * 1e3,
        "sft_tokens_per_s": tokens / step,
        "sft_tflops": flops / step / 1e12,
        "sft_mfu": flops / step / peak,
        "peak_bf16_flops": peak,
        "peak_allocated_gib": memory["allocated_bytes.all.peak"] / 2**30,
        "peak_reserved_gib": memory["reserved_bytes.all.peak"] / 2**30,
        "alloc_retries": memory["num_alloc_retries"],
    }
    if phases:
        result["phases_ms"] = phases
    print(json.dumps(result), flush=True)
    if args.no_generate:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)
        return
    del opt
    model = model.to(torch.bfloat16).eval()
    torch.cuda.empty_cache()
    generate(model, config, args, result)


def sft_phases(model, opt, ids, steps):
    """Mean ms of each phase of the SFT step, the device synchronised at every boundary."""
    totals = {"forward": 0.0, "backward": 0.0, "optimizer": 0.0}
    for i in range(steps + 2):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = model(input_ids=ids, labels=ids).loss
        torch.cuda.synchronize()
        t1 = time.perf_counter()
        loss.backward()
        torch.cuda.synchronize()
        t2 = time.perf_counter()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        torch.cuda.synchronize()
        t3 = time.perf_counter()
        if i >= 2:
            totals["forward"] += t1 - t0
            totals["backward"] += t2 - t1
            totals["optimizer"] += t3 - t2
    phases = {k: v / steps * 1e3 for k, v in totals.items()}
    print("pytorch step phases (device-synchronised, mean of %d steps): %s" % (
        steps, " | ".join(f"{k} {v:.1f} ms" for k, v in phases.items())), flush=True)
    return phases


def generate(model, config, args, result):
    """HF generate tokens/s at batch 1 and 32: greedy, KV cache, every row runs to --new-tokens."""
    import transformers

    result["transformers"] = transformers.__version__
    result["prompt_len"], result["new_tokens"] = args.prompt_len, args.new_tokens
    for batch in (1, 32):
        prompt = torch.randint(0, config.vocab_size, (batch, args.prompt_len), device="cuda")
        new = args.new_tokens

        def gen():
            with torch.no_grad():
                model.generate(prompt, max_new_tokens=new, min_new_tokens=new, do_sample=False,
                               pad_token_id=0)

        seconds = sync_time(gen, warmup=1, repeat=3)
        result[f"generate_b{batch}_tokens_per_s"] = batch * new / seconds
        print(f"generate batch {batch}: {batch * new / seconds:,.0f} tokens/s", flush=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
