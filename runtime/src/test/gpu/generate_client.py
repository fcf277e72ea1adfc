"""Times the inference server's generation over HTTP, as a client sees it: `/v1/completions` with
token-id prompts (random ids, fixed length), greedy (temperature 0), `ignore_eos` so that every row
runs to max_tokens, at batch 1 (one prompt) and 32 (32 prompts in one request, one batch on the
server). tokens/s = completion tokens (from the response's usage) / wall time of the request,
prefill included, as gpu_baseline.py times HF `generate`. One warm-up request per batch, then the
mean over --repeat. Prints one JSON line and appends it to --json.

    python3 generate_client.py --label java-after --port 8000 --json OUT/generate.jsonl
"""

import argparse
import json
import random
import sys
import time
import urllib.request

parser = argparse.ArgumentParser()
parser.add_argument("--label", required=True)
parser.add_argument("--port", type=int, default=8000)
parser.add_argument("--prompt-len", type=int, default=128)
parser.add_argument("--new-tokens", type=int, default=128)
parser.add_argument("--vocab", type=int, default=151936)
parser.add_argument("--repeat", type=int, default=3)
parser.add_argument("--json")
args = parser.parse_args()
url = f"http://127.0.0.1:{args.port}"


def post(body):
    request = urllib.request.Request(f"{url}/v1/completions", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=600) as response:
        return json.loads(response.read())


rng = random.Random(0)
result = {"label": args.label, "prompt_len": args.prompt_len, "new_tokens": args.new_tokens}
for batch in (1, 32):
    prompts = [[rng.randrange(args.vocab) for _ in range(args.prompt_len)] for _ in range(batch)]
    body = {"model": "qwen3", "prompt": prompts, "max_tokens": args.new_tokens, "temperature": 0,
            "ignore_eos": True}
    post(body)
    tokens, seconds = 0, 0.0
    for _ in range(args.repeat):
        start = time.perf_counter()
        response = post(body)
        seconds += time.perf_counter() - start
        tokens += response["usage"]["completion_tokens"]
    result[f"generate_b{batch}_tokens_per_s"] = tokens / seconds
    result[f"generate_b{batch}_tokens"] = tokens // args.repeat
    print(f"{args.label} batch {batch}: {tokens / seconds:,.0f} tokens/s "
          f"({tokens // args.repeat} tokens a request)", flush=True)
print(json.dumps(result), flush=True)
if args.json:
    with open(args.json, "a") as f:
        f.write(json.dumps(result) + "\n")
