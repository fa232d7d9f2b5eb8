#!/usr/bin/env python3
"""PyTorch reference column of `pnpm bench` (optional: used only when `import torch` works).

Builds the same network as @lenet/models from its JSON spec, and times, on real MNIST batches
read from the same IDX files: one Adam training step (forward in train mode, cross-entropy,
backward, update) per iteration, or `model(x)` under `no_grad` in eval mode.

usage: pytorch_ref.py --serve --mnist DIR
       pytorch_ref.py --count-params --spec SPECS.json
The first form answers timing requests, one JSON object per line on stdin, each with one JSON line
on stdout, so that the bench can interleave PyTorch with its own cells round by round:
  {"spec": "SPEC.json", "task": "train"|"infer", "batch": B, "threads": T,
   "iterations": N, "time": SECONDS, "warmup": N}
    -> {"torch": VERSION, "threads": T, "samples": [ms per iteration, ...]}
       (at least N timed iterations and until SECONDS have passed, after N warm-up ones; the
       model, its optimizer and its batches are kept per spec, task and batch between requests)
  {"reset": true} -> {"ok": true} (forgets the kept models)
A request that fails is answered {"error": "..."}; the process keeps serving.
The second form builds each spec of a JSON list and prints their parameter counts (a JSON list),
so that a test can check the nets against @lenet/models' own count.
"""
import argparse
import json
import os
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


class Trainer:
    """One model in train mode, Adam and 4 real batches; run() is one timed training step."""

    def __init__(self, spec, images, labels, batch):
        torch.manual_seed(1)
        self.model = build(spec)
        self.model.train()
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        self.loss_fn = nn.CrossEntropyLoss()
        self.xs = [fit_input(images[i * batch : (i + 1) * batch], spec) for i in range(4)]
        self.ys = [labels[i * batch : (i + 1) * batch] for i in range(4)]
        self.j = 0

    def run(self):
        j = self.j % 4
        self.j += 1
        self.opt.zero_grad(set_to_none=True)
        loss = self.loss_fn(self.model(self.xs[j]), self.ys[j])
        loss.backward()
        self.opt.step()
        loss.item()


class Inferer:
    """One model in eval mode and one real test batch; run() is one timed forward pass."""

    def __init__(self, spec, images, batch):
        torch.manual_seed(1)
        self.model = build(spec)
        self.model.eval()
        self.x = fit_input(images[:batch], spec)

    def run(self):
        with torch.no_grad():
            self.model(self.x).sum().item()


def time_samples(fn, iterations, budget, warmup):
    """ms per call of fn: warmup untimed calls, then at least `iterations` and until `budget` s."""
    for _ in range(warmup):
        fn()
    samples = []
    start = time.perf_counter()
    while len(samples) < iterations or time.perf_counter() - start < budget:
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000.0)
    return samples


def serve(mnist):
    train_images = read_idx(os.path.join(mnist, "train-images-idx3-ubyte"))
    train_labels = read_idx(os.path.join(mnist, "train-labels-idx1-ubyte")).long()
    test_images = read_idx(os.path.join(mnist, "t10k-images-idx3-ubyte"))
    kept = {}
    specs = {}
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            if req.get("reset"):
                kept.clear()
                specs.clear()
                reply = {"ok": True}
            else:
                task, batch, threads = req["task"], int(req["batch"]), int(req["threads"])
                if task not in ("train", "infer"):
                    raise ValueError(f"task must be train or infer, not {task!r}")
                key = (req["spec"], task, batch)
                if key not in kept:
                    if req["spec"] not in specs:
                        with open(req["spec"]) as f:
                            specs[req["spec"]] = json.load(f)
                    spec = specs[req["spec"]]
                    kept[key] = (
                        Trainer(spec, train_images, train_labels, batch)
                        if task == "train"
                        else Inferer(spec, test_images, batch)
                    )
                torch.set_num_threads(threads)
                samples = time_samples(
                    kept[key].run, int(req["iterations"]), float(req["time"]), int(req["warmup"])
                )
                reply = {"torch": torch.__version__, "threads": torch.get_num_threads(), "samples": samples}
        except Exception as e:  # noqa: BLE001 - the driver gets every failure as a reply
            reply = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps(reply), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--serve", action="store_true")
    ap.add_argument("--count-params", action="store_true")
    ap.add_argument("--spec")
    ap.add_argument("--mnist")
    a = ap.parse_args()
    torch.manual_seed(1)
    if a.count_params:
        if not a.spec:
            ap.error("--count-params needs --spec")
        with open(a.spec) as f:
            specs = json.load(f)
        json.dump([sum(p.numel() for p in build(s).parameters()) for s in specs], sys.stdout)
        return
    if not a.serve or not a.mnist:
        ap.error("give --serve --mnist DIR, or --count-params --spec FILE")
    serve(a.mnist)


if __name__ == "__main__":
    main()
