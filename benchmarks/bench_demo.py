"""``edgeport demo`` goals: the whole demo in under 60 s, and the int8 payoff on the doodle model.

    .venv/bin/python benchmarks/bench_demo.py [--demo-runs 3] [--rounds 15] [--per-round 100]

1. Wall time of ``edgeport demo`` (a fresh process each time: imports, conversion, quantization,
   benchmark table and test-set accuracy included), median and min/max over ``--demo-runs``.
2. doodle.tflite (fp32) vs doodle_int8.tflite on LiteRT, 1 thread, the same real doodle as input,
   interleaved A B A B for ``--rounds`` rounds of ``--per-round`` inferences: median latency of
   each, the ratio of medians with the min/max of the per-round ratios, and the size ratio.

The verdict line (last) is the demo-time goal; exits 1 when it is missed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from edgeport.bench.sysinfo import cpu_info  # noqa: E402

TARGET_S = 60.0




def demo_times(n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "edgeport.cli.app", "demo", "--json"], capture_output=True, text=True)
        out.append(time.perf_counter() - t0)
        if r.returncode != 0:
            print(r.stdout[-2000:], r.stderr[-2000:])
            raise SystemExit(f"edgeport demo failed with exit code {r.returncode}")
    return out


def int8_vs_fp32(rounds: int, per_round: int) -> None:
    import edgeport
    from edgeport.assets import doodle
    from edgeport.demo import preprocess, run_demo

    with tempfile.TemporaryDirectory() as td:
        rep = run_demo(runs=1, warmup=0, out_dir=td, accuracy=False)
        paths = {v.name: v.path for v in rep.convert.variants}
        if rep.quantize.variant is None or "doodle.tflite" not in paths:
            print(f"int8 comparison skipped: {rep.quantize.reason or rep.convert.skipped}")
            return
        a_path, b_path = paths["doodle.tflite"], rep.quantize.variant.path
        _, samples, _ = doodle.load_samples()
        sa = edgeport.load(a_path, backend="litert", threads=1)
        sb = edgeport.load(b_path, backend="litert", threads=1)
        xa, xb = preprocess(samples[:1], sa.inputs[0]), preprocess(samples[:1], sb.inputs[0])
        for _ in range(20):
            sa.run(xa), sb.run(xb)
        ta, tb, ratios = [], [], []
        for _ in range(rounds):
            ra, rb = [], []
            for _ in range(per_round):  # A B A B within the round
                t0 = time.perf_counter_ns()
                sa.run(xa)
                t1 = time.perf_counter_ns()
                sb.run(xb)
                t2 = time.perf_counter_ns()
                ra.append((t1 - t0) / 1e6)
                rb.append((t2 - t1) / 1e6)
            ta += ra
            tb += rb
            ratios.append(statistics.median(rb) / statistics.median(ra))
        ma, mb = statistics.median(ta), statistics.median(tb)
        size_a, size_b = os.path.getsize(a_path), os.path.getsize(b_path)
        print(f"fp32 doodle.tflite      litert 1 thread: median {ma:.4f} ms  p90 {np.percentile(ta, 90):.4f}  "
              f"min {min(ta):.4f}  max {max(ta):.4f}  size {size_a} B")
        print(f"int8 doodle_int8.tflite litert 1 thread: median {mb:.4f} ms  p90 {np.percentile(tb, 90):.4f}  "
              f"min {min(tb):.4f}  max {max(tb):.4f}  size {size_b} B")
        print(f"int8/fp32 latency ratio = {mb / ma:.3f} (per-round min {min(ratios):.3f}, max {max(ratios):.3f}); "
              f"size ratio = {size_b / size_a:.3f}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--demo-runs", type=int, default=3)
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--per-round", type=int, default=100)
    a = p.parse_args()
    print(f"CPU: {cpu_info()['model']}; os.cpu_count() = {os.cpu_count()}; load average {os.getloadavg()[0]:.2f}; "
          "benchmark threads = 1")
    int8_vs_fp32(a.rounds, a.per_round)
    times = demo_times(a.demo_runs)
    med = statistics.median(times)
    print(f"edgeport demo wall time: " + ", ".join(f"{t:.1f}" for t in times) + f" s (min {min(times):.1f}, max {max(times):.1f})")
    print(f"demo time median = {med:.1f} s (target <= {TARGET_S:.0f} s)")
    return 0 if med <= TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
