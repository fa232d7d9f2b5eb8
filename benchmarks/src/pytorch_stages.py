#!/usr/bin/env python3
"""Where a PyTorch training step's time goes, for comparing with the compiled wasm step
(packages/train/scripts/step-stages.mjs): the step timed as pytorch_ref.py times it (Adam, median
of N steps), then torch.profiler's self CPU time per op over N more steps, per step.

usage: OPENBLAS_NUM_THREADS=1 /usr/bin/python3 benchmarks/src/pytorch_stages.py SPEC.json MNIST_DIR BATCH THREADS [STEPS]
       OPENBLAS_NUM_THREADS=1 /usr/bin/python3 benchmarks/src/pytorch_stages.py --serve MNIST_DIR
The second form reads lines "SPEC.json BATCH THREADS STEPS" on stdin and answers each with one
JSON line {"median": ms, "best": ms} of that many timed steps (models kept per spec and batch),
so that a driver can interleave PyTorch with another process cell by cell
(packages/train/scripts/ab-pytorch.mjs).
"""
import os
import statistics
import sys
import time

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_ref import build, fit_input, read_idx  # noqa: E402


class Trainer:
    """One model, Adam and 4 real batches; step(j) is one training step as pytorch_ref.py times it."""

    def __init__(self, spec, images, labels, batch):
        torch.manual_seed(1)
        self.model = build(spec)
        self.model.train()
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        self.loss_fn = nn.CrossEntropyLoss()
        self.xs = [fit_input(images[i * batch : (i + 1) * batch], spec) for i in range(4)]
        self.ys = [labels[i * batch : (i + 1) * batch] for i in range(4)]
        self.j = 0

    def step(self):
        j = self.j % 4
        self.j += 1
        self.opt.zero_grad(set_to_none=True)
        loss = self.loss_fn(self.model(self.xs[j]), self.ys[j])
        loss.backward()
        self.opt.step()
        loss.item()


def serve(mnist):
    import json

    images = read_idx(os.path.join(mnist, "train-images-idx3-ubyte"))
    labels = read_idx(os.path.join(mnist, "train-labels-idx1-ubyte")).long()
    trainers = {}
    for line in sys.stdin:
        spec_path, batch, threads, steps = line.split()
        batch, threads, steps = int(batch), int(threads), int(steps)
        torch.set_num_threads(threads)
        key = (spec_path, batch)
        if key not in trainers:
            with open(spec_path) as f:
                trainers[key] = Trainer(json.load(f), images, labels, batch)
            for _ in range(30):
                trainers[key].step()
        t = trainers[key]
        times = []
        for _ in range(steps):
            t0 = time.perf_counter()
            t.step()
            times.append((time.perf_counter() - t0) * 1000)
        print(json.dumps({"median": statistics.median(times), "best": min(times)}), flush=True)


def main():
    if sys.argv[1] == "--serve":
        serve(sys.argv[2])
        return
    spec_path, mnist, batch, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    steps = int(sys.argv[5]) if len(sys.argv) > 5 else 100
    import json

    with open(spec_path) as f:
        spec = json.load(f)
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    images = read_idx(os.path.join(mnist, "train-images-idx3-ubyte"))
    labels = read_idx(os.path.join(mnist, "train-labels-idx1-ubyte")).long()
    model = build(spec)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    xs = [fit_input(images[i * batch : (i + 1) * batch], spec) for i in range(4)]
    ys = [labels[i * batch : (i + 1) * batch] for i in range(4)]

    def step(j):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xs[j % 4]), ys[j % 4])
        loss.backward()
        opt.step()
        loss.item()

    for j in range(30):
        step(j)
    times = []
    for j in range(steps):
        t0 = time.perf_counter()
        step(j)
        times.append((time.perf_counter() - t0) * 1000)
    print(f"{os.path.basename(spec_path)} b{batch} threads {threads}: step median {statistics.median(times):.3f} ms, best {min(times):.3f}")
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for j in range(steps):
            step(j)
    rows = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)
    total = sum(e.self_cpu_time_total for e in rows) / steps / 1000
    print(f"  profiled self CPU per step {total:.3f} ms")
    for e in rows[:22]:
        ms = e.self_cpu_time_total / steps / 1000
        if ms >= 0.01:
            print(f"  {e.key:<44} {ms:7.3f} ms  ({e.count // steps} calls)")


if __name__ == "__main__":
    main()
