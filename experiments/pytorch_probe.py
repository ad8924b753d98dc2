#!/usr/bin/env python3
"""PyTorch probe for the accuracy study (issue 6, docs/accuracy.md).

Quick what-if runs of training tricks on the `small` protocol, outside the
project's TypeScript code: a trick that does not move validation accuracy
here is not worth porting. Also a small convolutional net, used only as a
ceiling probe (the lab itself is about fully-connected nets), and an overlap
count of the test images several models all get wrong.

The split is this script's own grouped, class-stratified 80/10/10 split of
notMNIST_small (exact duplicates kept in one split; 14,984 / 1,870 / 1,870
images), not the project's split: compare its rows with each other, not with
the TypeScript rows.

Usage (needs numpy, Pillow and torch; Debian: python3-torch python3-pil):
  pytorch_probe.py --data DIR/notMNIST_small.tar.gz --config JSON [--threads N]
  pytorch_probe.py --data ... --overlap a.npy b.npy ...   (test-set predictions)

Config keys (JSON object): hidden [units...], act relu|elu|selu, drop, indrop,
wd (PyTorch weight decay), lr, mom (0.9), nesterov (false), epochs, bs (128),
sched cosine|restarts (restarts: period "t0" epochs, doubling), shift (px),
aff [degrees, scale, px], el [alpha px, sigma px] (elastic), mix (mixup
alpha), inv (probability of inverting an image), ls (label smoothing),
swa (average the last N epochs' weights), kd + T + teacher (distillation from
a teacher trained first with the teacher config), cnn (1: the conv probe),
seed, dump (path: save test predictions as .npy).
Output: one JSON line {config, train, valid, test, seconds}.
"""
import hashlib
import io
import json
import sys
import tarfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image


def load(path):
    """Readable 28x28 PNGs of the archive: pixels, labels, content hashes."""
    xs, ys, hs = [], [], []
    skipped = 0
    with tarfile.open(path) as tar:
        for m in tar:
            if not m.isfile() or not m.name.endswith(".png"):
                continue
            b = tar.extractfile(m).read()
            try:
                im = np.array(Image.open(io.BytesIO(b)))
            except Exception:
                skipped += 1
                continue
            if im.shape != (28, 28):
                skipped += 1
                continue
            xs.append(im.reshape(-1))
            ys.append(ord(m.name.split("/")[-2]) - 65)
            hs.append(hashlib.sha1(im.tobytes()).hexdigest())
    print(f"{len(xs)} images, {skipped} unreadable skipped", file=sys.stderr)
    return np.array(xs, dtype=np.uint8), np.array(ys), hs


def split(labels, hashes, seed=1):
    """Grouped (duplicates together), class-stratified 80/10/10 split."""
    rng = np.random.RandomState(seed)
    groups = {}
    for i, h in enumerate(hashes):
        groups.setdefault(h, []).append(i)
    gl = list(groups.values())
    rng.shuffle(gl)
    gl.sort(key=lambda g: -len(g))
    share = {"train": 0.8, "valid": 0.1, "test": 0.1}
    total = np.bincount(labels, minlength=10)
    count = {k: np.zeros(10) for k in share}
    out = {k: [] for k in share}
    for g in gl:
        c = np.bincount(labels[g], minlength=10)
        best = max(share, key=lambda k: (share[k] * total - count[k]) @ c / max(1, c.sum()))
        out[best] += g
        count[best] += c
    return {k: np.array(v) for k, v in out.items()}


def shift(xb, m):
    n = xb.shape[0]
    img = F.pad(xb.view(n, 1, 28, 28), (m, m, m, m))
    dx = torch.randint(0, 2 * m + 1, (n,))
    dy = torch.randint(0, 2 * m + 1, (n,))
    out = torch.empty(n, 1, 28, 28)
    for a in range(2 * m + 1):
        for b in range(2 * m + 1):
            sel = (dx == a) & (dy == b)
            if sel.any():
                out[sel] = img[sel, :, b:b + 28, a:a + 28]
    return out.view(n, 784)


def affine(xb, degrees, scale, px):
    n = xb.shape[0]
    th = (torch.rand(n) * 2 - 1) * degrees * np.pi / 180
    s = 1 + (torch.rand(n) * 2 - 1) * scale
    shear = (torch.rand(n) * 2 - 1) * 0.15
    a = torch.zeros(n, 2, 3)
    a[:, 0, 0] = torch.cos(th) / s
    a[:, 0, 1] = -torch.sin(th) / s + shear
    a[:, 1, 0] = torch.sin(th) / s
    a[:, 1, 1] = torch.cos(th) / s
    a[:, 0, 2] = (torch.rand(n) * 2 - 1) * px * 2 / 28
    a[:, 1, 2] = (torch.rand(n) * 2 - 1) * px * 2 / 28
    grid = F.affine_grid(a, (n, 1, 28, 28), align_corners=False)
    return F.grid_sample(xb.view(n, 1, 28, 28), grid, align_corners=False).view(n, 784)


def elastic(xb, alpha, sigma):
    """Simard et al. 2003: a smoothed random displacement field times alpha."""
    n = xb.shape[0]
    r = int(3 * sigma)
    x = torch.arange(-r, r + 1, dtype=torch.float32)
    k = torch.exp(-x**2 / (2 * sigma**2))
    k = k / k.sum()
    d = (torch.rand(n * 2, 1, 28, 28) * 2 - 1)
    d = F.conv2d(F.pad(d, (r, r, 0, 0), mode="reflect"), k.view(1, 1, 1, -1))
    d = F.conv2d(F.pad(d, (0, 0, r, r), mode="reflect"), k.view(1, 1, -1, 1))
    d = d.view(n, 2, 28, 28) * alpha * 2 / 28
    lin = torch.linspace(-1 + 1 / 28, 1 - 1 / 28, 28)
    ys, xs = torch.meshgrid(lin, lin, indexing="ij")
    grid = torch.stack([xs, ys], -1).unsqueeze(0) + d.permute(0, 2, 3, 1)
    return F.grid_sample(xb.view(n, 1, 28, 28), grid, align_corners=False).view(n, 784)


class ConvProbe(nn.Module):
    """Two 3x3 conv + max-pool stages, 256 hidden units: a ceiling probe only."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 32, 3, padding=1)
        self.c2 = nn.Conv2d(32, 64, 3, padding=1)
        self.f = nn.Linear(64 * 7 * 7, 256)
        self.o = nn.Linear(256, 10)
        self.d = nn.Dropout(0.4)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.c1(x.view(-1, 1, 28, 28))), 2)
        x = F.max_pool2d(F.relu(self.c2(x)), 2)
        return self.o(self.d(F.relu(self.f(x.flatten(1)))))


def build(cfg):
    if cfg.get("cnn"):
        return ConvProbe()
    act = {"relu": nn.ReLU, "elu": nn.ELU, "selu": nn.SELU}[cfg.get("act", "relu")]
    drop = nn.AlphaDropout if cfg.get("act") == "selu" else nn.Dropout
    layers = [drop(cfg["indrop"])] if cfg.get("indrop") else []
    d = 784
    for u in cfg.get("hidden", []):
        layers += [nn.Linear(d, u), act(), drop(cfg.get("drop", 0))]
        d = u
    return nn.Sequential(*layers, nn.Linear(d, 10))


def rate(cfg, step, steps, steps_per_epoch):
    lr = cfg["lr"]
    if cfg.get("sched", "cosine") == "restarts":
        period = cfg.get("t0", 10) * steps_per_epoch
        while step >= period:
            step -= period
            period *= 2
        return lr * 0.5 * (1 + np.cos(np.pi * step / period))
    return lr * 0.5 * (1 + np.cos(np.pi * step / steps))


def train(cfg, x, y, parts, teacher=None):
    torch.manual_seed(cfg.get("seed", 0))
    np.random.seed(cfg.get("seed", 0))
    net = build(cfg)
    opt = torch.optim.SGD(net.parameters(), lr=cfg["lr"], momentum=cfg.get("mom", 0.9),
                          nesterov=cfg.get("nesterov", False), weight_decay=cfg.get("wd", 0))
    tr = parts["train"]
    epochs, bs = cfg["epochs"], cfg.get("bs", 128)
    per_epoch = (len(tr) + bs - 1) // bs
    step, avg, navg = 0, None, 0
    t0 = time.time()
    for epoch in range(epochs):
        net.train()
        order = tr[torch.randperm(len(tr)).numpy()]
        for i in range(0, len(order), bs):
            idx = order[i:i + bs]
            xb, yb = x[idx], y[idx]
            if cfg.get("shift"):
                xb = shift(xb, cfg["shift"])
            if cfg.get("aff"):
                xb = affine(xb, *cfg["aff"])
            if cfg.get("el"):
                xb = elastic(xb, *cfg["el"])
            if cfg.get("inv"):
                m = (torch.rand(xb.shape[0], 1) < cfg["inv"]).float()
                xb = m * (1 - xb) + (1 - m) * xb
            for g in opt.param_groups:
                g["lr"] = rate(cfg, step, epochs * per_epoch, per_epoch)
            if cfg.get("mix"):
                lam = float(np.random.beta(cfg["mix"], cfg["mix"]))
                p = torch.randperm(len(idx))
                out = net(lam * xb + (1 - lam) * xb[p])
                loss = lam * F.cross_entropy(out, yb) + (1 - lam) * F.cross_entropy(out, yb[p])
            elif teacher is not None:
                out = net(xb)
                t = cfg.get("T", 4)
                with torch.no_grad():
                    soft = F.softmax(teacher(xb) / t, 1)
                kd = F.kl_div(F.log_softmax(out / t, 1), soft, reduction="batchmean")
                loss = (1 - cfg["kd"]) * F.cross_entropy(out, yb) + cfg["kd"] * t * t * kd
            else:
                loss = F.cross_entropy(net(xb), yb, label_smoothing=cfg.get("ls", 0))
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
        if cfg.get("swa") and epoch >= epochs - cfg["swa"]:
            sd = {k: v.clone() for k, v in net.state_dict().items()}
            navg += 1
            if avg is None:
                avg = sd
            else:
                for k in avg:
                    if avg[k].dtype.is_floating_point:
                        avg[k] += (sd[k] - avg[k]) / navg
    if avg is not None:
        net.load_state_dict(avg)
    net.eval()
    return net, time.time() - t0


def main(argv):
    args = {"threads": "1"}
    rest = []
    i = 0
    while i < len(argv):
        if argv[i] in ("--data", "--config", "--threads"):
            if i + 1 >= len(argv):
                sys.exit(f"pytorch_probe.py: {argv[i]} expects a value")
            args[argv[i][2:]] = argv[i + 1]
            i += 2
        elif argv[i] == "--overlap":
            rest = argv[i + 1:]
            break
        else:
            sys.exit(f"pytorch_probe.py: unknown argument {argv[i]!r}; see the docstring")
    if "data" not in args:
        sys.exit("pytorch_probe.py: --data PATH (notMNIST_small.tar.gz) is required")
    torch.set_num_threads(int(args["threads"]))
    pixels, labels, hashes = load(args["data"])
    parts = split(labels, hashes)
    if rest:
        wrong = [np.load(p) != labels[parts["test"]] for p in rest]
        both = np.logical_and.reduce(wrong)
        print(json.dumps({"test": len(parts["test"]), "errors": [int(w.sum()) for w in wrong],
                          "wrong_in_all": int(both.sum())}))
        return
    if "config" not in args:
        sys.exit("pytorch_probe.py: --config JSON is required")
    cfg = json.loads(args["config"])
    x = torch.tensor(pixels.astype(np.float32) / 255)
    y = torch.tensor(labels)
    teacher = None
    if cfg.get("kd"):
        teacher, _ = train(cfg["teacher"], x, y, parts)
    net, seconds = train(cfg, x, y, parts, teacher)
    with torch.no_grad():
        acc = {k: round((net(x[v]).argmax(1) == y[v]).float().mean().item(), 4)
               for k, v in parts.items()}
        if cfg.get("dump"):
            np.save(cfg["dump"], net(x[parts["test"]]).argmax(1).numpy())
    print(json.dumps({"config": cfg, **acc, "seconds": round(seconds, 1)}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
