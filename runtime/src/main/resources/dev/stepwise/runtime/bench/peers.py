# Peers of `stepwise bench`: saves and loads the same state (the tensors of the checkpoint files
# given) with Python's safetensors and, where installed, torch, on the same disk, and prints one
# line per measurement: "peer <name> <save|load> <median seconds> <bytes>". Saves include an fsync,
# as Stepwise's do. Lines starting with "note" explain what was not measured.
import os
import statistics
import sys
import time

out_dir, repeats, files = sys.argv[1], int(sys.argv[2]), sys.argv[3:]

try:
    import numpy  # noqa: F401
    from safetensors.numpy import load_file as np_load
    from safetensors.numpy import save_file as np_save
except ImportError as e:
    print(f"note safetensors/numpy not importable ({e}): pip install safetensors numpy")
    sys.exit(0)

state = {}
for f in files:
    state.update(np_load(f))
nbytes = sum(a.nbytes for a in state.values())


def fsync(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def measure(name, save, load, path):
    saves, loads = [], []
    for _ in range(repeats):
        if os.path.exists(path):
            os.remove(path)
        t0 = time.perf_counter()
        save(path)
        fsync(path)
        saves.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        loaded = load(path)
        loads.append(time.perf_counter() - t0)
        del loaded
    os.remove(path)
    print(f"peer {name} save {statistics.median(saves):.6f} {nbytes}", flush=True)
    print(f"peer {name} load {statistics.median(loads):.6f} {nbytes}", flush=True)


measure(
    "safetensors.numpy",
    lambda p: np_save(state, p),
    np_load,
    os.path.join(out_dir, "peer.safetensors"),
)

try:
    import torch
    from safetensors.torch import load_file as pt_load
    from safetensors.torch import save_file as pt_save
except ImportError as e:
    print(
        "note torch not installed, so torch.save/torch.load and safetensors.torch were NOT"
        f" measured ({e}); PyPI's Linux torch wheel is ~500 MiB plus several GB of CUDA"
        " dependencies"
    )
    sys.exit(0)

tstate = {k: torch.from_numpy(v) for k, v in state.items()}
measure(
    "torch.save",
    lambda p: torch.save(tstate, p),
    lambda p: torch.load(p, weights_only=True),
    os.path.join(out_dir, "peer.pt"),
)
measure(
    "safetensors.torch",
    lambda p: pt_save(tstate, p),
    pt_load,
    os.path.join(out_dir, "peer-torch.safetensors"),
)
