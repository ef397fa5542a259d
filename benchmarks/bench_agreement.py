#!/usr/bin/env python
"""Does ``edgeport.bench.benchmark`` agree with a plain timing loop over the raw backend?

For each backend (onnxruntime on the ONNX demo model, openvino on the same file, litert
on a .tflite of it when one exists), in one process, interleaved round by round
(A B B', then B B' A, ...): A = ``edgeport.bench.benchmark(model, backends=[b], threads=T,
warmup=W, runs=N)`` (defaults as ``edgeport bench``: memory on), B = the same steps by
hand: native load with the config edgeport's runtime documents, first run, W warm-up
runs, N runs timed with ``perf_counter_ns`` around

* ``ort.InferenceSession.run(None, feeds)`` (intra-op threads T, inter-op 1),
* ``InferRequest.infer({name: array})`` (OpenVINO CPU, INFERENCE_PRECISION_HINT f32, T threads),
* ``set_tensor / invoke / get_tensor`` (LiteRT Interpreter, num_threads T).

``--raw-from-session`` times the same plain loops on ``edgeport.load(...).raw`` instead, which
separates the bench harness from any difference in how the runtime builds the native object.

Each round yields one p50 per side; the figure is the median over rounds of the per-round
ratio edgeport p50 / raw p50, with its min and max. A second raw loop in every round (A/A
control: raw2 / raw) shows the machine's noise floor beside it. Target: within 5 % (0.95 .. 1.05) for
every backend. Demo model: src/edgeport/assets/doodle/doodle.onnx when it exists, else a
doodle-like CNN built here with onnx.helper (1x1x28x28 -> conv32 -> pool -> conv64 -> pool
-> fc512 -> fc10 -> softmax).

    .venv/bin/python benchmarks/bench_agreement.py [--rounds 21] [--runs 300] [--threads 1]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import edgeport  # noqa: E402
from edgeport.bench import benchmark, summarize  # noqa: E402
from edgeport.bench.sysinfo import cpu_info  # noqa: E402

DEMO = ROOT / "src/edgeport/assets/doodle/doodle.onnx"


def build_doodle_like(path: Path) -> Path:
    """The doodle CNN's shape with fixed random weights (seed 0)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)

    def w(name, *shape):
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else shape[0]
        return numpy_helper.from_array((rng.standard_normal(shape) * np.sqrt(2 / fan_in)).astype(np.float32), name)

    inits = [w("c1w", 32, 1, 3, 3), w("c1b", 32), w("c2w", 64, 32, 3, 3), w("c2b", 64),
             w("f1w", 1600, 512), w("f1b", 512), w("f2w", 512, 10), w("f2b", 10)]
    n = helper.make_node
    nodes = [n("Conv", ["x", "c1w", "c1b"], ["c1"]), n("Relu", ["c1"], ["r1"]),
             n("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
             n("Conv", ["p1", "c2w", "c2b"], ["c2"]), n("Relu", ["c2"], ["r2"]),
             n("MaxPool", ["r2"], ["p2"], kernel_shape=[2, 2], strides=[2, 2]),
             n("Flatten", ["p2"], ["f"]), n("Gemm", ["f", "f1w", "f1b"], ["h"]), n("Relu", ["h"], ["hr"]),
             n("Gemm", ["hr", "f2w", "f2b"], ["logits"]), n("Softmax", ["logits"], ["probs"], axis=1)]
    g = helper.make_graph(nodes, "doodle_like", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 28, 28])],
                          [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [1, 10])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, str(path))
    return path


def tflite_of(onnx_path: Path, tmp: Path) -> tuple[Path | None, str]:
    """A .tflite of the demo model: the shipped one, else edgeport.convert's output, else None and why."""
    shipped = onnx_path.with_suffix(".tflite")
    if shipped.is_file():
        return shipped, f"{shipped.name} (shipped)"
    try:
        out = tmp / (onnx_path.stem + ".tflite")
        edgeport.convert(str(onnx_path), str(out), verify=False)
        return out, f"{out.name} (edgeport.convert of {onnx_path.name})"
    except Exception as e:  # the converter is optional for this figure
        return None, f"no .tflite: edgeport.convert failed ({type(e).__name__}: {str(e).splitlines()[0][:120]})"


def _time_loop(step, warmup: int, runs: int) -> np.ndarray:
    step()  # first inference
    for _ in range(warmup):
        step()
    out = np.empty(runs, dtype=np.int64)
    for i in range(runs):
        t0 = time.perf_counter_ns()
        step()
        out[i] = time.perf_counter_ns() - t0
    return out


def open_onnxruntime(path: Path, threads: int):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads, so.log_severity_level = threads, 1, 3
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def step_onnxruntime(sess, feeds: dict):
    return lambda: sess.run(None, feeds)


def open_openvino(path: Path, threads: int):
    import openvino as ov

    core = ov.Core()
    return core.compile_model(core.read_model(str(path)), "CPU",
                              {"INFERENCE_PRECISION_HINT": "f32", "INFERENCE_NUM_THREADS": threads})


def step_openvino(compiled, feeds: dict):
    # The plain call a user writes: a dict keyed by input name (OpenVINO's binding is
    # measurably faster with a dict than with a list here, and so is edgeport's backend).
    req = compiled.create_infer_request()
    return lambda: req.infer(feeds)


def open_litert(path: Path, threads: int):
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=str(path), num_threads=threads)
    it.allocate_tensors()
    return it


def step_litert(it, feeds: dict):
    ins = [(d["index"], feeds[d["name"]]) for d in it.get_input_details()]
    outs = [d["index"] for d in it.get_output_details()]

    def step():
        for idx, x in ins:
            it.set_tensor(idx, x)
        it.invoke()
        return [it.get_tensor(i) for i in outs]

    return step


RAW = {"onnxruntime": (open_onnxruntime, step_onnxruntime), "openvino": (open_openvino, step_openvino),
       "litert": (open_litert, step_litert)}


def raw_p50(backend: str, path: Path, feeds: dict, threads: int, warmup: int, runs: int, from_session: bool) -> float:
    """p50 (ms) of a plain loop over the native object: built here, or taken from edgeport.load(...).raw."""
    opener, stepper = RAW[backend]
    if from_session:
        with edgeport.load(str(path), backend=backend, threads=threads) as s:
            return summarize(_time_loop(stepper(s.raw, feeds), warmup, runs)).p50_ms
    return summarize(_time_loop(stepper(opener(path, threads), feeds), warmup, runs)).p50_ms


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=21)
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--target", type=float, default=0.05, help="allowed |ratio - 1|")
    ap.add_argument("--backends", default="onnxruntime,openvino,litert")
    ap.add_argument("--raw-from-session", action="store_true",
                    help="time the raw loop on edgeport.load(...).raw instead of a natively built object "
                         "(isolates the harness from load-configuration differences)")
    args = ap.parse_args(argv)

    cpu = cpu_info()
    print(f"CPU: {cpu['model']} ({', '.join(cpu['flags']) or 'no notable flags'}), "
          f"{cpu['usable_cpus']} usable of {cpu['logical_cpus']} logical CPUs; threads per backend: {args.threads}")
    with tempfile.TemporaryDirectory(prefix="edgeport-agree-") as tmpd:
        tmp = Path(tmpd)
        model = DEMO if DEMO.is_file() else build_doodle_like(tmp / "doodle_like.onnx")
        print(f"model: {model if model == DEMO else 'doodle-like CNN built with onnx.helper (' + model.name + ')'}")
        pairs = []
        for b in args.backends.split(","):
            if b == "litert":
                tfl, why = tflite_of(model, tmp)
                print(f"litert model: {why}")
                if tfl is not None:
                    pairs.append((b, tfl))
            else:
                pairs.append((b, model))
        feeds = {}
        for b, path in pairs:
            with edgeport.load(str(path), backend=b, threads=args.threads) as s:
                feeds[b] = edgeport.runtime.random_inputs(s.inputs, seed=0)
        print(f"raw side: {'edgeport.load(...).raw' if args.raw_from_session else 'native objects built here'}")
        print(f"{args.rounds} rounds x (warmup {args.warmup} + runs {args.runs}) per side; sides per round: edgeport, "
              f"raw, raw again (A/A control), first side rotating")

        p50 = {b: {"edgeport": [], "raw": [], "raw2": []} for b, _ in pairs}
        order = ["edgeport", "raw", "raw2"]
        for r in range(args.rounds):
            for b, path in pairs:
                for side in order[r % 3:] + order[: r % 3]:  # rotate who goes first
                    if side == "edgeport":
                        res = benchmark(str(path), backends=[b], threads=args.threads, warmup=args.warmup,
                                        runs=args.runs).results[0]
                        p50[b][side].append(res.p50_ms)
                    else:
                        p50[b][side].append(raw_p50(b, path, feeds[b], args.threads, args.warmup, args.runs,
                                                    args.raw_from_session))
            print(f"  round {r + 1}/{args.rounds} done", flush=True)

    print(f"\n{'backend':<12} {'edgeport p50':>12} {'raw p50':>9} {'edgeport/raw':>13} {'min':>6} {'max':>6}"
          f" {'A/A raw/raw':>12} {'min':>6} {'max':>6}")
    worst, noisy = 1.0, []
    for b, _ in pairs:
        e, w, w2 = (np.array(p50[b][k]) for k in ("edgeport", "raw", "raw2"))
        ratios, control = e / w, w2 / w
        med, cmed = float(np.median(ratios)), float(np.median(control))
        print(f"{b:<12} {np.median(e):>12.4f} {np.median(w):>9.4f} {med:>13.3f} {ratios.min():>6.3f} {ratios.max():>6.3f}"
              f" {cmed:>12.3f} {control.min():>6.3f} {control.max():>6.3f}")
        if abs(cmed - 1) > args.target / 2:
            noisy.append(f"{b} (A/A {cmed:.3f})")
        if abs(med - 1) > abs(worst - 1):
            worst = med
    print("times in ms (median over rounds of each round's p50); A/A = a second raw loop against the first, "
          "the noise floor of this machine")
    if noisy:
        print(f"note: the A/A control is off by more than half the target for {', '.join(noisy)}: this machine is "
              f"too noisy to resolve {args.target:.0%} there; rerun on a quiet machine")
    ok = abs(worst - 1) <= args.target
    print(f"\nmedian agreement edgeport.bench/raw loop (worst of {', '.join(b for b, _ in pairs)}) = {worst:.3f} "
          f"(target {1 - args.target:.2f} .. {1 + args.target:.2f})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
