"""Runs a `stepwise sft` command and times its steps from outside: each `step k/N` log line is
stamped as it arrives. A log line comes after the runtime has read that step's loss, which waits
for the step to end on the device; a trainer that defers reads (stepwise.pipeline, the default on
a GPU since 2026-12-07) reads step k once step k+1 is queued, so its line comes a fixed time after
step k ended in the steady state, except the last step's, which is read at once. So the time
between two log lines before the last is the device time of the steps between them; --to-step
leaves out the last line (and any other step read at once: saves, evaluations). Prints the
command's output and, last, one JSON line: {"label", "ms_per_step", "steps_timed", "first_step",
"last_step"} over the log lines from --from-step (the steps before it warm up: allocator,
cuBLAS/cuDNN heuristics) to --to-step.

    python3 timed_log.py --label java-after --from-step 50 --to-step 550 -- CMD ARGS...
"""

import argparse
import json
import re
import subprocess
import sys
import time

parser = argparse.ArgumentParser()
parser.add_argument("--label", required=True)
parser.add_argument("--from-step", type=int, default=0)
parser.add_argument("--to-step", type=int, default=None)
parser.add_argument("--json", help="append the result line to this file too")
parser.add_argument("command", nargs=argparse.REMAINDER)
args = parser.parse_args()
command = args.command[1:] if args.command[:1] == ["--"] else args.command

stamps = []
process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
for line in process.stdout:
    now = time.perf_counter()
    sys.stdout.write(line)
    m = re.match(r"step (\d+)/(\d+) ", line)
    if m:
        stamps.append((int(m.group(1)), now))
rc = process.wait()
timed = [(s, t) for s, t in stamps if s >= args.from_step and (args.to_step is None or s <= args.to_step)]
result = {"label": args.label, "rc": rc}
if len(timed) >= 2:
    (s0, t0), (s1, t1) = timed[0], timed[-1]
    result.update(ms_per_step=(t1 - t0) / (s1 - s0) * 1e3, steps_timed=s1 - s0, first_step=s0, last_step=s1)
line = json.dumps(result)
print(line, flush=True)
if args.json:
    with open(args.json, "a") as f:
        f.write(line + "\n")
sys.exit(rc)
