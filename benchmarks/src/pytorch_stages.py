#!/usr/bin/env python3
"""Where a PyTorch training step's time goes, for comparing with the compiled wasm step
(packages/train/scripts/step-stages.mjs): the step timed as pytorch_ref.py times it (Adam, median
of N steps), then torch.profiler's self CPU time per op over N more steps, per step.

usage: OPENBLAS_NUM_THREADS=1 /usr/bin/python3 benchmarks/src/pytorch_stages.py SPEC.json MNIST_DIR BATCH THREADS [STEPS]
(To time PyTorch interleaved with another process, use pytorch_ref.py --serve.)
"""
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_ref import Trainer, read_idx  # noqa: E402


def main():
    spec_path, mnist, batch, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    steps = int(sys.argv[5]) if len(sys.argv) > 5 else 100
    import json

    with open(spec_path) as f:
        spec = json.load(f)
    torch.set_num_threads(threads)
    images = read_idx(os.path.join(mnist, "train-images-idx3-ubyte"))
    labels = read_idx(os.path.join(mnist, "train-labels-idx1-ubyte")).long()
    trainer = Trainer(spec, images, labels, batch)
    for _ in range(30):
        trainer.run()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        trainer.run()
        times.append((time.perf_counter() - t0) * 1000)
    print(f"{os.path.basename(spec_path)} b{batch} threads {threads}: step median {statistics.median(times):.3f} ms, best {min(times):.3f}")
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            trainer.run()
    rows = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)
    total = sum(e.self_cpu_time_total for e in rows) / steps / 1000
    print(f"  profiled self CPU per step {total:.3f} ms")
    for e in rows[:22]:
        ms = e.self_cpu_time_total / steps / 1000
        if ms >= 0.01:
            print(f"  {e.key:<44} {ms:7.3f} ms  ({e.count // steps} calls)")


if __name__ == "__main__":
    main()
