#!/usr/bin/env python
"""Structured channel pruning: does removing half the conv channels make the model faster?

A VGG-style CNN (random weights) is pruned with ``edgeport.compress.prune_channels(ratio=0.5)``; both are
exported to ONNX and timed side by side in ONNX Runtime (1 thread), interleaved A B A B, median of round
medians with min-max. Verdict last; exit 1 on a miss.
Usage: .venv/bin/python benchmarks/bench_compress_prune.py [--rounds 7] [--n 30]
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_quantize import cpu_info, interleave, ort_session, show  # noqa: E402


def build():
    import torch
    import torch.nn as nn

    class VGGish(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1, self.b1 = nn.Conv2d(3, 64, 3, padding=1), nn.BatchNorm2d(64)
            self.c2, self.b2 = nn.Conv2d(64, 128, 3, padding=1), nn.BatchNorm2d(128)
            self.c3, self.b3 = nn.Conv2d(128, 128, 3, padding=1), nn.BatchNorm2d(128)
            self.c4 = nn.Conv2d(128, 256, 3, padding=1)
            self.fc = nn.Linear(256 * 8 * 8, 10)

        def forward(self, x):
            f = nn.functional
            x = f.max_pool2d(torch.relu(self.b1(self.c1(x))), 2)
            x = f.max_pool2d(torch.relu(self.b2(self.c2(x))), 2)
            x = torch.relu(self.b3(self.c3(x)))
            x = f.max_pool2d(torch.relu(self.c4(x)), 2)
            return self.fc(torch.flatten(x, 1))

    torch.manual_seed(0)
    return VGGish().eval()


def main() -> int:
    import torch

    from edgeport.compress import prune_channels
    from edgeport.compress._torchio import save_module

    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--n", type=int, default=30)
    a = ap.parse_args()
    torch.set_num_threads(1)
    print(f"CPU: {cpu_info()}; threads: 1 (ORT intra_op=1)")
    ex = torch.rand(1, 3, 64, 64)
    base = build()
    pruned = copy.deepcopy(base)
    rep = prune_channels(pruned, 0.5, ex)
    with torch.no_grad():
        err = float((pruned(ex) - base(ex)).abs().max())
    with tempfile.TemporaryDirectory() as td:
        pa, pb = save_module(base, Path(td) / "base.onnx", ex), save_module(pruned, Path(td) / "pruned.onnx", ex)
        sizes = pa.stat().st_size, pb.stat().st_size
        res = interleave({"original": ort_session(pa), "pruned 50% channels": ort_session(pb)}, a.rounds, a.n)
    show("VGG-style 64x64, ONNX Runtime", res, "original")
    print(f"  params {rep.params_before:,} -> {rep.params_after:,}; ONNX {sizes[0] / 1024:.0f} -> {sizes[1] / 1024:.0f} KiB;"
          f" shapes {rep.shapes}; max |out diff| before fine-tuning {err:.3g}")
    ratio = res["pruned 50% channels"][0] / res["original"][0]
    print(f"  ratio of the fastest rounds (less sensitive to a busy machine): "
          f"{res['pruned 50% channels'][1] / res['original'][1]:.3f}")
    ok = ratio <= 0.6
    print(f"pruned/original latency ratio = {ratio:.3f} (target <= 0.60) {'OK' if ok else 'MISS'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
