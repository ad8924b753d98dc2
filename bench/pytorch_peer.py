#!/usr/bin/env python3
"""PyTorch peer for bench/train_bench.ts: trains the same MLPs on the same
batch sizes with the same optimizers on synthetic data and prints JSON.

Without --worker it tries several thread settings, each in its own process
(BLAS settings must be in the environment before torch loads): torch threads
1 or 2 x OPENBLAS_NUM_THREADS 1 or 2, with OPENBLAS_CORETYPE=SkylakeX when the
CPU has AVX-512 and the variable is not already set. It keeps, per row, the
best samples/s and the setting that gave it.

Usage: pytorch_peer.py [--steps N] [--models a,c] [--batches 128,512]
                       [--opts sgd,momentum]
       pytorch_peer.py --serve --torch-threads N   (BLAS settings from the env;
           one JSON request per stdin line, see serve())
Output (stdout, one JSON object):
  {"torch": "...", "rows": [{"model","batch","opt","samples_per_s","config"}],
   "configs": [{"config", "rows": [...]} | {"config", "error"}]}
"""
import json
import os
import subprocess
import sys
import time

MODELS = {"a": [784, 1024, 1024, 10], "c": [784, 128, 10]}


def parse_args(argv):
    opts = {"steps": 30, "models": "a,c", "batches": "128,512", "opts": "sgd,momentum",
            "worker": False, "serve": False, "torch_threads": 1}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--worker":
            opts["worker"] = True
        elif a == "--serve":
            opts["serve"] = True
        elif a in ("--steps", "--models", "--batches", "--opts", "--torch-threads"):
            if i + 1 >= len(argv):
                sys.exit(f"pytorch_peer.py: {a} expects a value")
            opts[a[2:].replace("-", "_")] = argv[i + 1]
            i += 1
        else:
            sys.exit(f"pytorch_peer.py: unknown argument {a}; known: --steps --models "
                     "--batches --opts --torch-threads --worker --serve")
        i += 1
    try:
        opts["steps"] = int(opts["steps"])
        opts["torch_threads"] = int(opts["torch_threads"])
    except ValueError:
        sys.exit("pytorch_peer.py: --steps and --torch-threads expect integers")
    if opts["steps"] < 1:
        sys.exit("pytorch_peer.py: --steps expects an integer >= 1")
    return opts


def measure(torch, model_name, batch, opt_name, steps):
    """Samples/s of `steps` training steps (after 5 warm-up steps) of one model."""
    sizes = MODELS[model_name]
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i + 2 < len(sizes):
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    if opt_name == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    x = torch.rand(batch, sizes[0])
    y = torch.randint(0, sizes[-1], (batch,))

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(5):
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return batch * steps / (time.perf_counter() - t0)


def shift_batch(torch, x, k, gen):
    """Shifts each 28x28 row of x (n x 784) by a random (dx, dy) in [-k, k]^2,
    zero fill: one pad and one gather (tensor ops, no Python loop per image)."""
    n = x.shape[0]
    d = torch.randint(-k, k + 1, (n, 2), generator=gen)
    padded = torch.nn.functional.pad(x.view(n, 28, 28), (k, k, k, k))
    ar = torch.arange(28)
    ys = ar.view(1, 28, 1) - d[:, 1].view(n, 1, 1) + k
    xs = ar.view(1, 1, 28) - d[:, 0].view(n, 1, 1) + k
    return padded[torch.arange(n).view(n, 1, 1), ys, xs].reshape(n, 784)


RECIPE_DATA = {}


def recipe(torch, req):
    """Trains the lab's SMALL_RECIPE (models/recipes.ts) for req["epochs"]
    epochs on the images of req["data"] (count x 784 uint8 pixels, then count
    uint8 labels): 784-hidden...-10 relu with dropout after each hidden layer,
    L2 on the kernels only (weight decay 2 * l2), SGD with (Nesterov) momentum,
    a cosine rate updated every step, random +-shift px shifts, the same
    equal-size batches, loss and accuracy read every step, and the mean of the
    last average_last epochs' weights loaded at the end. Returns samples/s."""
    import math
    path, count = req["data"], int(req["count"])
    if RECIPE_DATA.get("path") != path:
        with open(path, "rb") as f:
            raw = f.read()
        images = torch.frombuffer(bytearray(raw[:count * 784]), dtype=torch.uint8).view(count, 784)
        labels = torch.frombuffer(bytearray(raw[count * 784:count * 785]), dtype=torch.uint8).long()
        RECIPE_DATA.update(path=path, images=images, labels=labels)
    images, labels = RECIPE_DATA["images"], RECIPE_DATA["labels"]
    hidden, dropout, l2 = req["hidden"], req["dropout"], req["l2"]
    epochs, batch, k = int(req["epochs"]), int(req["batch"]), int(req["shift"])
    lr0, lr_min, momentum = req["lr"], req["lr_min"], req["momentum"]
    average_last = int(req["average_last"])
    foreach = bool(req.get("foreach", False))
    t0 = time.perf_counter()
    layers, sizes = [], [784, *hidden, 10]
    for i in range(len(sizes) - 1):
        lin = torch.nn.Linear(sizes[i], sizes[i + 1])
        torch.nn.init.kaiming_normal_(lin.weight, nonlinearity="relu")
        torch.nn.init.zeros_(lin.bias)
        layers.append(lin)
        if i + 2 < len(sizes):
            layers.append(torch.nn.ReLU())
            if dropout > 0:
                layers.append(torch.nn.Dropout(dropout))
    model = torch.nn.Sequential(*layers)
    kernels = [m.weight for m in model if isinstance(m, torch.nn.Linear)]
    biases = [m.bias for m in model if isinstance(m, torch.nn.Linear)]
    opt = torch.optim.SGD([{"params": kernels, "weight_decay": 2 * l2},
                           {"params": biases, "weight_decay": 0.0}],
                          lr=lr0, momentum=momentum, nesterov=True, foreach=foreach)
    gen = torch.Generator().manual_seed(int(req.get("seed", 1)))
    steps = math.ceil(count / batch)
    params = list(model.parameters())
    avg = [torch.zeros_like(p) for p in params]
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()
    loss_sum, correct = 0.0, 0
    for epoch in range(epochs):
        perm = torch.randperm(count, generator=gen)
        for b in range(steps):
            start, end = b * count // steps, (b + 1) * count // steps
            idx = perm[start:end]
            x = images[idx].float().mul_(1 / 255)
            if k > 0:
                x = shift_batch(torch, x, k, gen)
            y = labels[idx]
            progress = min((epoch + b / steps) / epochs, 1.0)
            lr = lr_min + 0.5 * (lr0 - lr_min) * (1 + math.cos(math.pi * progress))
            for group in opt.param_groups:
                group["lr"] = lr
            logits = model(x)
            loss = loss_fn(logits, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.item() * (end - start)
            correct += int((logits.argmax(1) == y).sum())
        if epoch >= epochs - average_last:
            with torch.no_grad():
                for a, p in zip(avg, params):
                    a.add_(p)
    with torch.no_grad():
        for a, p in zip(avg, params):
            p.copy_(a / average_last)
    seconds = time.perf_counter() - t0
    return count * epochs / seconds


def worker(opts):
    import torch
    torch.set_num_threads(opts["torch_threads"])
    torch.manual_seed(0)
    rows = []
    for model_name in opts["models"].split(","):
        for batch in [int(b) for b in opts["batches"].split(",")]:
            for opt_name in opts["opts"].split(","):
                rows.append({"model": model_name, "batch": batch, "opt": opt_name,
                             "samples_per_s": measure(torch, model_name, batch, opt_name,
                                                      opts["steps"])})
    print(json.dumps({"torch": torch.__version__, "rows": rows}))


def serve(opts):
    """Answers one JSON request per stdin line: {"model","batch","opt","steps"} or
    {"recipe": {...}} (see recipe()) -> {"samples_per_s"} (or {"error"}), so a caller can interleave its own
    measurements with PyTorch's under the same machine load."""
    import torch
    torch.set_num_threads(opts["torch_threads"])
    torch.manual_seed(0)
    print(json.dumps({"ready": True, "torch": torch.__version__}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            note = ""
            if "recipe" in req:
                # Both SGD implementations of torch 1.13 (per-tensor loop, the
                # default, and foreach); the faster one counts.
                runs = [(recipe(torch, dict(req["recipe"], foreach=f)), f) for f in (False, True)]
                sps, foreach = max(runs)
                note = f"foreach={foreach}"
            else:
                sps = measure(torch, req["model"], int(req["batch"]), req["opt"],
                              int(req["steps"]))
            print(json.dumps({"samples_per_s": sps, "note": note}), flush=True)
        except Exception as e:  # report, keep serving
            print(json.dumps({"error": str(e)}), flush=True)


def has_avx512f():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return "avx512f" in line.split()
    except OSError:
        pass
    return False


def driver(opts):
    base_env = dict(os.environ)
    if "OPENBLAS_CORETYPE" not in base_env and has_avx512f():
        base_env["OPENBLAS_CORETYPE"] = "SkylakeX"
    passthrough = ["--steps", str(opts["steps"]), "--models", opts["models"],
                   "--batches", opts["batches"], "--opts", opts["opts"]]
    configs = []
    best = {}
    version = None
    for torch_threads in (1, 2):
        for blas_threads in (1, 2):
            env = dict(base_env)
            env["OPENBLAS_NUM_THREADS"] = str(blas_threads)
            env["OMP_NUM_THREADS"] = str(torch_threads)
            label = (f"torch_threads={torch_threads} OPENBLAS_NUM_THREADS={blas_threads} "
                     f"OPENBLAS_CORETYPE={env.get('OPENBLAS_CORETYPE', '(auto)')}")
            proc = subprocess.run(
                [sys.executable, __file__, "--worker", "--torch-threads", str(torch_threads),
                 *passthrough], env=env, capture_output=True, text=True)
            if proc.returncode != 0:
                lines = (proc.stderr.strip() or "exit code %d" % proc.returncode).splitlines()
                configs.append({"config": label, "error": lines[-1]})
                continue
            out = json.loads(proc.stdout.strip().splitlines()[-1])
            version = out["torch"]
            configs.append({"config": label, "rows": out["rows"]})
            for r in out["rows"]:
                key = (r["model"], r["batch"], r["opt"])
                if key not in best or r["samples_per_s"] > best[key]["samples_per_s"]:
                    best[key] = dict(r, config=label)
    print(json.dumps({"torch": version, "rows": list(best.values()), "configs": configs}))


def main():
    opts = parse_args(sys.argv[1:])
    for m in opts["models"].split(","):
        if m not in MODELS:
            sys.exit(f"pytorch_peer.py: unknown model {m}; known: {', '.join(MODELS)}")
    if opts["serve"]:
        serve(opts)
    elif opts["worker"]:
        worker(opts)
    else:
        driver(opts)


if __name__ == "__main__":
    main()
