#!/usr/bin/env python3
"""PyTorch reference column of `pnpm bench` (optional: used only when `import torch` works).

Builds the same network as @lenet/models from its JSON spec, and times, on real MNIST batches
read from the same IDX files: one Adam training step (forward in train mode, cross-entropy,
backward, update) per iteration at each training batch size, and `model(x)` under `no_grad` in eval
mode at each inference batch size. Prints one JSON object on stdout.

usage: pytorch_ref.py --spec SPEC.json --mnist DIR --train-batches 64,256 --infer-batches 1,64,256
                      --iterations N --time SECONDS --warmup N [--threads T]
       pytorch_ref.py --count-params --spec SPECS.json
The second form builds each spec of a JSON list and prints their parameter counts (a JSON list),
so that a test can check the nets against @lenet/models' own count.
"""
import argparse
import json
import math
import os
import statistics
import struct
import sys
import time

import torch
from torch import nn


def read_idx(path):
    with open(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not a uint8 IDX file")
    dims = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    t = torch.frombuffer(bytearray(data[4 + 4 * ndim :]), dtype=torch.uint8)
    return t.reshape(dims)


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def activation(name):
    return {
        "relu": nn.ReLU(),
        "tanh": nn.Tanh(),
        "sigmoid": nn.Sigmoid(),
        "elu": nn.ELU(),
        "swish": nn.SiLU(),
        "linear": nn.Identity(),
    }[name]


def build(spec):
    """nn.Sequential from a ModelSpec; the final softmax is left out (CrossEntropyLoss takes logits)."""
    h, w, c = spec["input"]
    layers = []
    shape = (c, h, w)
    flat = None
    specs = spec["layers"]
    for i, l in enumerate(specs):
        t = l["type"]
        last = i == len(specs) - 1
        if t == "conv2d":
            k = pair(l["kernel"])
            s = pair(l.get("stride", 1))
            p = l.get("padding", "valid")
            if p == "same":
                pad = "same" if s == (1, 1) else tuple(kk // 2 for kk in k)
            elif p == "valid":
                pad = 0
            else:
                pad = p
            layers.append(nn.Conv2d(shape[0], l["filters"], k, s, pad, bias=l.get("useBias", True)))
            probe = torch.zeros((1,) + shape)
            shape = tuple(layers[-1](probe).shape[1:])
            a = l.get("activation")
            if a and a != "softmax":
                layers.append(activation(a))
        elif t == "batchNorm":
            if flat is None:
                layers.append(nn.BatchNorm2d(shape[0]))
            else:
                layers.append(nn.BatchNorm1d(flat))
        elif t == "dropout":
            layers.append(nn.Dropout(l["rate"]))
        elif t == "activation":
            if not (last and l["activation"] == "softmax"):
                layers.append(activation(l["activation"]))
        elif t in ("maxPool", "avgPool"):
            k = pair(l["size"])
            s = pair(l.get("stride", l["size"]))
            ceil = l.get("padding", "valid") == "same"
            layers.append((nn.MaxPool2d if t == "maxPool" else nn.AvgPool2d)(k, s, ceil_mode=ceil))
            shape = tuple(layers[-1](torch.zeros((1,) + shape)).shape[1:])
        elif t == "globalAvgPool":
            layers.append(nn.AdaptiveAvgPool2d(1))
            layers.append(nn.Flatten())
            flat = shape[0]
        elif t == "flatten":
            layers.append(nn.Flatten())
            flat = shape[0] * shape[1] * shape[2]
        elif t == "dense":
            layers.append(nn.Linear(flat, l["units"], bias=l.get("useBias", True)))
            flat = l["units"]
            a = l.get("activation")
            if a and a != "softmax":
                layers.append(activation(a))
        else:
            raise ValueError(f"layer {i}: unsupported type {t}")
    return nn.Sequential(*layers)


def fit_input(images, spec):
    """uint8 [n, 28, 28] -> float [n, c, h, w] / 255, zero-padded and channel-repeated like the harness."""
    h, w, c = spec["input"]
    x = images.float().div_(255.0).unsqueeze(1)
    ph, pw = h - x.shape[2], w - x.shape[3]
    if ph or pw:
        x = nn.functional.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))
    if c != 1:
        x = x.repeat(1, c, 1, 1)
    return x.contiguous()


def timeit(fn, iterations, budget, warmup):
    for _ in range(warmup):
        fn()
    samples = []
    start = time.perf_counter()
    while len(samples) < iterations or time.perf_counter() - start < budget:
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000.0)
    n = len(samples)
    mean = statistics.fmean(samples)
    sd = statistics.stdev(samples) if n > 1 else 0.0
    # 95 % two-sided t critical value (normal approximation beyond 30 samples).
    tcrit = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228][n - 2] if 2 <= n <= 11 else (
        2.042 if n <= 31 else 1.96
    )
    rme = (tcrit * sd / math.sqrt(n)) / mean * 100.0 if n > 1 and mean > 0 else 0.0
    s = sorted(samples)

    def q(p):
        pos = (n - 1) * p
        lo = math.floor(pos)
        hi = min(lo + 1, n - 1)
        return s[lo] + (s[hi] - s[lo]) * (pos - lo)

    return {"mean": mean, "p50": q(0.5), "p99": q(0.99), "rme": rme, "iterations": n}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spec", required=True)
    ap.add_argument("--count-params", action="store_true")
    ap.add_argument("--mnist")
    ap.add_argument("--train-batches", default="")
    ap.add_argument("--infer-batches", default="")
    ap.add_argument("--iterations", type=int, default=5)
    ap.add_argument("--time", type=float, default=1.0)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    with open(a.spec) as f:
        spec = json.load(f)
    if a.count_params:
        json.dump([sum(p.numel() for p in build(s).parameters()) for s in spec], sys.stdout)
        return
    if not a.mnist:
        ap.error("--mnist is required")
    train_images = read_idx(os.path.join(a.mnist, "train-images-idx3-ubyte"))
    train_labels = read_idx(os.path.join(a.mnist, "train-labels-idx1-ubyte")).long()
    test_images = read_idx(os.path.join(a.mnist, "t10k-images-idx3-ubyte"))
    out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "train": {}, "infer": {}}
    loss_fn = nn.CrossEntropyLoss()
    for b in [int(v) for v in a.train_batches.split(",") if v]:
        model = build(spec)
        model.train()
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        xs = [fit_input(train_images[i * b : (i + 1) * b], spec) for i in range(4)]
        ys = [train_labels[i * b : (i + 1) * b] for i in range(4)]
        k = [0]

        def step():
            j = k[0] % 4
            k[0] += 1
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xs[j]), ys[j])
            loss.backward()
            opt.step()
            loss.item()

        out["train"][str(b)] = timeit(step, a.iterations, a.time, a.warmup)
    for b in [int(v) for v in a.infer_batches.split(",") if v]:
        model = build(spec)
        model.eval()
        x = fit_input(test_images[:b], spec)

        def infer():
            with torch.no_grad():
                model(x).sum().item()

        out["infer"][str(b)] = timeit(infer, a.iterations, a.time, a.warmup)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
