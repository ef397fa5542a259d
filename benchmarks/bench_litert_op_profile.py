"""LiteRT per-op profile (isolated single-op models) of the embedded doodle CNN, against the whole model.

The doodle model (src/edgeport/assets/doodle/doodle.onnx) is converted to TFLite with
``edgeport.convert.convert`` (and, with ``--int8``, quantized with random calibration data). Then
``edgeport.bench.profile_litert.profile_litert`` runs ``--repeats`` times; each run interleaves, round
by round, one invoke of a 1-element RELU model (the call cost), one of the whole model and one of every
single-op model, and reports medians. Printed: the per-op table of the last repeat, the shares by op
type beside those of ONNX Runtime's own profiler on the ONNX model (a different runtime: a sanity
check of where the time goes, not a target), the whole/sum/ratio of every repeat (median, min, max),
and how long a profile takes (first call builds the single-op interpreters; later calls reuse them).

Target: the sum of the isolated op medians is within 0.8 .. 1.25 of the whole model's median (median
over repeats): the isolated rows account for the model's time, neither missing nor inventing much.
Run: ``.venv/bin/python benchmarks/bench_litert_op_profile.py [--runs 200 --repeats 5 --threads 1 --int8]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from edgeport.bench.sysinfo import cpu_info  # noqa: E402

DOODLE = ROOT / "src/edgeport/assets/doodle/doodle.onnx"
LOW, HIGH = 0.8, 1.25




def ort_shares(onnx_path: Path, feeds: dict, threads: int, runs: int) -> dict[str, float]:
    from edgeport.bench.profile import by_op_type, profile_ops

    return {g.op_type: g.percent for g in by_op_type(profile_ops(onnx_path, "onnxruntime", feeds, runs, threads))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=200, help="interleaved rounds per profile")
    ap.add_argument("--repeats", type=int, default=5, help="profiles (ratio median/min/max over them)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--int8", action="store_true", help="profile the int8-quantized doodle instead")
    a = ap.parse_args()
    warnings.filterwarnings("ignore")

    from edgeport.bench.profile import by_op_type
    from edgeport.bench.profile_litert import ISOLATION_NOTE, profile_litert
    from edgeport.convert import convert
    from edgeport.model import check_file
    from edgeport.runtime import load, random_inputs

    print(f"CPU: {cpu_info()['model']}; threads: {a.threads}; rounds per profile: {a.runs}; repeats: {a.repeats}")
    with tempfile.TemporaryDirectory(prefix="edgeport-litprof-") as td:
        tfl = Path(td) / "doodle.tflite"
        convert(str(DOODLE), str(tfl), verify=False)
        if a.int8:
            from edgeport.compress import quantize

            calib = Path(td) / "calib.npz"
            np.savez(calib, image=np.random.default_rng(0).random((16, 1, 1, 28, 28), np.float32))
            q = Path(td) / "doodle_int8.tflite"
            quantize(str(DOODLE), str(q), mode="int8", calib=str(calib))
            tfl = q
        check_file(tfl)
        with load(str(tfl), backend="litert") as s:
            feeds = random_inputs(s.inputs, seed=0)
        with load(str(DOODLE), backend="onnxruntime") as s:
            onnx_feeds = random_inputs(s.inputs, seed=0)
        profs, walls = [], []
        for _ in range(a.repeats):
            t0 = time.perf_counter()
            profs.append(profile_litert(tfl, feeds, runs=a.runs, threads=a.threads))
            walls.append(time.perf_counter() - t0)
        shares_ort = ort_shares(DOODLE, onnx_feeds, a.threads, min(a.runs, 50))

    p = profs[-1]
    print(f"\nmodel: {tfl.name}, {len(p.rows)}/{p.num_ops} ops profiled; {ISOLATION_NOTE}")
    print(f"{'#':>3} {'NODE':<28} {'OP':<16} {'MS':>8} {'%':>6}")
    for r in p.rows:
        print(f"{r.index:>3} {r.name[:28]:<28} {r.op_type:<16} {r.time_ms:>8.4f} {r.percent:>6.1f}")
    for n in p.not_profiled:
        print(f"{n.index:>3} {n.name[:28]:<28} {n.op_type:<16} not profiled ({n.reason})")
    print("\nshares by op type (LiteRT isolated | ONNX Runtime profiler on the .onnx, different op names):")
    print("  litert: " + ", ".join(f"{g.op_type} {g.percent:.1f}%" for g in by_op_type(p.rows)))
    print("  ort:    " + ", ".join(f"{k} {v:.1f}%" for k, v in sorted(shares_ort.items(), key=lambda kv: -kv[1])))

    def line(label, vals, fmt):
        print(f"{label:<34} median {fmt.format(statistics.median(vals))}  min {fmt.format(min(vals))}  "
              f"max {fmt.format(max(vals))}")

    print()
    line("whole model (ms)", [q.whole_ms for q in profs], "{:.4f}")
    line("sum of isolated ops (ms)", [q.sum_ms for q in profs], "{:.4f}")
    line("invoke call alone (us)", [q.call_ms * 1000 for q in profs], "{:.2f}")
    line("ratio without call cost", [q.ratio_without_calls for q in profs], "{:.3f}")
    line("profile wall time (s)", walls, "{:.3f}")
    print(f"first profile (builds interpreters) {walls[0]:.3f} s, later (cached) {statistics.median(walls[1:] or walls):.3f} s")
    ratios = [q.ratio for q in profs]
    line("sum/whole ratio", ratios, "{:.3f}")
    r = statistics.median(ratios)
    ok = LOW <= r <= HIGH
    print(f"litert isolated sum/whole ratio = {r:.2f} (target {LOW} <= r <= {HIGH}){'' if ok else ' MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
