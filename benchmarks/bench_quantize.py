#!/usr/bin/env python
"""Quantization figures, measured side by side in one run (see /work/shared/BENCHMARKING.md).

1. Doodle demo model (src/edgeport/assets/doodle): float TFLite (edgeport.convert) vs edgeport int8 vs
   ai-edge-quantizer static int8 (static_wi8_ai8, same float model and calibration data, installed in its
   own venv at /tmp/edgeport-bench-aiq/.venv) — size, LiteRT latency on 1 thread, top-1 on the test set.
2. MobileNet-style network (depthwise separable blocks, random weights, built in torch -> ONNX -> TFLite):
   float vs int8 latency in LiteRT on 1 thread, output cosine on calibration-like data.
3. ONNX Runtime (1 thread): float vs int8 QDQ U8S8 (edgeport's default), QDQ S8S8, QOperator U8S8.

Timing: rounds of A B C A B C ..., each round the median of N invokes after warm-up; we report the median
over rounds and the min-max of the round medians. Verdict lines come last; exit code 1 on any miss.
Usage: .venv/bin/python benchmarks/bench_quantize.py [--rounds 7] [--n 50] [--skip-aiq]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

AIQ_VENV = Path("/tmp/edgeport-bench-aiq/.venv")
VERDICTS: list[tuple[str, bool]] = []


def verdict(text: str, ok: bool) -> None:
    VERDICTS.append((f"{text} {'OK' if ok else 'MISS'}", ok))


def cpu_info() -> str:
    model, flags = platform.processor(), ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name") and not model.strip():
                model = line.split(":", 1)[1].strip()
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags"):
                flags = " ".join(f for f in line.split(":", 1)[1].split() if "vnni" in f or f in ("avx2", "avx512f"))
                break
    except OSError:
        pass
    return f"{model} [{flags}] cores={os.cpu_count()}"


def litert(path):
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=str(path), num_threads=1)
    it.allocate_tensors()
    d = it.get_input_details()[0]
    x = np.random.default_rng(0).random(d["shape"]).astype(np.float32)
    if d["dtype"] != np.float32:
        s, z = d["quantization"]
        x = np.clip(np.round(x / s + z), -128, 127).astype(d["dtype"])
    it.set_tensor(d["index"], x)
    return it.invoke


def ort_session(path):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads = 1, 1
    s = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    i = s.get_inputs()[0]
    x = {i.name: np.random.default_rng(0).random([d if isinstance(d, int) else 1 for d in i.shape]).astype(np.float32)}
    return lambda: s.run(None, x)


def interleave(runners: dict, rounds: int, n: int) -> dict[str, tuple[float, float, float]]:
    """{name: (median ms, min round median, max round median)} over interleaved rounds."""
    for f in runners.values():
        for _ in range(5):
            f()
    meds = {k: [] for k in runners}
    for _ in range(rounds):
        for k, f in runners.items():
            ts = []
            for _ in range(n):
                t = time.perf_counter()
                f()
                ts.append(time.perf_counter() - t)
            meds[k].append(np.median(ts) * 1e3)
    return {k: (float(np.median(v)), float(min(v)), float(max(v))) for k, v in meds.items()}


def show(title, res, base):
    print(f"\n{title}  (1 thread; median of round medians [min-max])")
    for k, (m, lo, hi) in res.items():
        print(f"  {k:<28} {m:8.4f} ms [{lo:.4f}-{hi:.4f}]  speed-up vs {base}: {res[base][0] / m:5.2f}x")


AIQ_SCRIPT = r"""
import sys, numpy as np
from ai_edge_quantizer import quantizer, recipe
src, calib, out = sys.argv[1:4]
qt = quantizer.Quantizer(src)
qt.load_quantization_recipe(recipe.static_wi8_ai8())
z = np.load(calib)
name = z.files[0]
sig = list(qt._signature_defs.keys())[0] if hasattr(qt, "_signature_defs") else "serving_default"
data = {sig: [{name: z[name][i]} for i in range(len(z[name]))]}
res = qt.calibrate(data)
qt.quantize(res).export_model(out, overwrite=True)
print("aiq ok")
"""


def aiq_quantize(src: Path, feeds, out: Path) -> str | None:
    """Quantize with ai-edge-quantizer in its own venv; returns None or why it could not."""
    py = AIQ_VENV / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(AIQ_VENV)], check=True)
        r = subprocess.run([str(py), "-m", "pip", "install", "-q", "ai-edge-quantizer"], capture_output=True, text=True)
        if r.returncode:
            return "pip install ai-edge-quantizer failed: " + r.stderr.strip().splitlines()[-1]
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=str(src))
    sigs = it.get_signature_list()
    name = (list(sigs.values())[0]["inputs"][0] if sigs else it.get_input_details()[0]["name"])
    with tempfile.TemporaryDirectory() as td:
        cal = Path(td) / "calib.npz"
        np.savez(cal, **{name: np.stack([next(iter(f.values())) for f in feeds])})
        script = Path(td) / "aiq.py"
        script.write_text(AIQ_SCRIPT)
        r = subprocess.run([str(py), str(script), str(src), str(cal), str(out)], capture_output=True, text=True)
    if r.returncode or not out.exists():
        return "ai-edge-quantizer failed: " + (r.stderr.strip().splitlines() or ["?"])[-1]
    return None


def doodle(td: Path, rounds: int, n: int, skip_aiq: bool) -> None:
    from edgeport.assets import doodle as D
    from edgeport.compress import quantize
    from edgeport.compress.evaluate import eval_feeds, predict, top1
    from edgeport.compress.calibration import load_calibration
    from edgeport.compress._modelio import model_inputs, model_norm
    from edgeport.convert import convert

    if not D.MODEL_PATH.exists():
        print(f"doodle model not found at {D.MODEL_PATH}")
        verdict("doodle: model missing, not measured", False)
        return
    flt, q8, aiq = td / "doodle.tflite", td / "doodle_int8.tflite", td / "doodle_aiq.tflite"
    convert(str(D.MODEL_PATH), str(flt), verify=False)
    calib = D.CALIB_PATH if D.CALIB_PATH.exists() else D.TEST_SET_PATH
    t = time.perf_counter()
    rep = quantize(flt, q8, mode="int8", calib=calib)
    print(f"doodle: edgeport int8 in {time.perf_counter() - t:.2f} s, {rep.calibration_samples} calibration samples")
    runners = {"float (LiteRT)": litert(flt), "edgeport int8": litert(q8)}
    why = "skipped (--skip-aiq)" if skip_aiq else None
    if not skip_aiq:
        mean, std = model_norm(flt)
        feeds = load_calibration(calib, model_inputs(flt, "tflite"), mean=mean, std=std, limit=256)
        why = aiq_quantize(flt, feeds, aiq)
        if why is None:
            runners["ai-edge-quantizer int8"] = litert(aiq)
    res = interleave(runners, rounds, n)
    show("doodle latency", res, "float (LiteRT)")
    sizes = {p.name: p.stat().st_size for p in (flt, q8, aiq) if p.exists()}
    print("  sizes:", ", ".join(f"{k} {v / 1024:.1f} KiB" for k, v in sizes.items()))
    feeds, labels = eval_feeds(flt, D.TEST_SET_PATH)  # preprocessed per the float model's metadata, for all three
    acc = {p.name: top1(predict(p, feeds), labels) for p in (flt, q8, aiq) if p.exists()}
    print("  top-1 on test set:", ", ".join(f"{k} {v * 100:.2f} %" for k, v in acc.items()))
    ratio = rep.size_after / rep.size_before
    verdict(f"doodle int8 size ratio = {ratio:.3f} (target <= 0.26)", ratio <= 0.26)
    sp = res["float (LiteRT)"][0] / res["edgeport int8"][0]
    verdict(f"doodle int8 speed-up vs float (LiteRT, 1 thread) = {sp:.2f} (target >= 2.5)", sp >= 2.5)
    if "ai-edge-quantizer int8" in res:
        r = res["edgeport int8"][0] / res["ai-edge-quantizer int8"][0]
        verdict(f"doodle latency ratio edgeport/ai-edge-quantizer int8 = {r:.3f} (target <= 1.02, noise margin)", r <= 1.02)
    else:
        print(f"  ai-edge-quantizer: {why}")
        verdict(f"doodle vs ai-edge-quantizer: not measured ({why})", False)
    drop = (acc[flt.name] - acc[q8.name]) * 100
    verdict(f"doodle int8 top-1 drop = {drop:.2f} points (target <= 1.0)", drop <= 1.0)


def mobilenet_onnx(path: Path, hw: int = 160) -> Path:
    import torch
    import torch.nn as nn

    def block(cin, cout, s):
        return [nn.Conv2d(cin, cin, 3, s, 1, groups=cin, bias=False), nn.BatchNorm2d(cin), nn.ReLU6(),
                nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU6()]

    layers = [nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU6()]
    for cin, cout, s in [(32, 64, 1), (64, 128, 2), (128, 128, 1), (128, 256, 2), (256, 256, 1), (256, 512, 2),
                         (512, 512, 1), (512, 512, 1)]:
        layers += block(cin, cout, s)
    torch.manual_seed(0)
    net = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, 100)).eval()
    with torch.no_grad():  # BN statistics from data (as after training), so outputs depend on the input
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.momentum = None  # cumulative average
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.1, 0.1)
        net.train()
        for _ in range(4):
            net(torch.rand(16, 3, hw, hw))
        net.eval()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (torch.rand(1, 3, hw, hw),), str(path), input_names=["x"], output_names=["logits"],
                          dynamo=False, opset_version=17)
    return path


def mobilenet(td: Path, rounds: int, n: int, skip_aiq: bool) -> Path:
    from edgeport.compress import quantize
    from edgeport.compress.evaluate import cosine, predict
    from edgeport.convert import convert

    onnx_path = mobilenet_onnx(td / "mobilenet.onnx")
    flt, q8 = td / "mobilenet.tflite", td / "mobilenet_int8.tflite"
    convert(str(onnx_path), str(flt), verify=False)
    from edgeport.compress._modelio import model_inputs

    spec = model_inputs(flt, "tflite")[0]
    rng = np.random.default_rng(0)
    calib = {spec.name: rng.random((32, *spec.shape[1:])).astype(np.float32)}
    test = [{spec.name: rng.random(spec.shape).astype(np.float32)} for _ in range(16)]
    rep = quantize(flt, q8, mode="int8", calib=calib)
    a, b = predict(flt, test), predict(q8, test)
    cos = cosine(a, b)
    centered = cosine(a - a.mean(0), b - a.mean(0))  # the input-dependent part alone
    notes = [f"  outputs vary with the input: std across samples {a.std(0).mean():.3g} (mean |out| {np.abs(a).mean():.3g})"]
    runners = {"float (LiteRT)": litert(flt), "edgeport int8": litert(q8)}
    aiq = td / "mobilenet_aiq.tflite"
    if not skip_aiq:
        from edgeport.compress.calibration import to_feeds

        if aiq_quantize(flt, to_feeds(calib, [spec]), aiq) is None:
            runners["ai-edge-quantizer int8"] = litert(aiq)
            c = predict(aiq, test)
            notes.append(f"  ai-edge-quantizer int8: cosine {cosine(a, c):.5f}, centered cosine "
                         f"{cosine(a - a.mean(0), c - a.mean(0)):.5f} (random depthwise nets lose precision layer by layer)")
    res = interleave(runners, rounds, n)
    show("MobileNet-style 160x160 latency", res, "float (LiteRT)")
    print("\n".join(notes))
    print(f"  sizes: float {rep.size_before / 1024:.1f} KiB, int8 {rep.size_after / 1024:.1f} KiB; cosine {cos:.5f}, centered cosine {centered:.5f}")
    sp = res["float (LiteRT)"][0] / res["edgeport int8"][0]
    verdict(f"MobileNet int8 speed-up vs float (LiteRT, 1 thread) = {sp:.2f} (target >= 2.0)", sp >= 2.0)
    verdict(f"MobileNet int8 output cosine to float = {cos:.4f} (target >= 0.99)", cos >= 0.99)
    return onnx_path


def onnxruntime_int8(td: Path, onnx_path: Path, rounds: int, n: int) -> None:
    from edgeport.compress import quantize

    rng = np.random.default_rng(1)
    calib = {"x": rng.random((16, 3, 160, 160)).astype(np.float32)}
    variants = {"QDQ U8S8 (default)": {}, "QDQ S8S8": {"activation_type": "int8"},
                "QOperator U8S8": {"onnx_format": "qoperator"}}
    runners = {"float (ORT)": ort_session(onnx_path)}
    for name, kw in variants.items():
        out = td / f"mb_{len(runners)}.onnx"
        quantize(onnx_path, out, mode="int8", calib=calib, **kw)
        runners[name] = ort_session(out)
    res = interleave(runners, rounds, max(10, n // 2))
    show("ONNX Runtime latency (MobileNet-style)", res, "float (ORT)")
    sp = res["float (ORT)"][0] / res["QDQ U8S8 (default)"][0]
    verdict(f"ONNX Runtime int8 (QDQ U8S8) speed-up vs float = {sp:.2f} (target > 1.0)", sp > 1.0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--n", type=int, default=50, help="invokes per round and model")
    ap.add_argument("--skip-aiq", action="store_true")
    a = ap.parse_args()
    print(f"CPU: {cpu_info()}; threads: 1 (LiteRT num_threads=1, ORT intra_op=1); python {platform.python_version()}")
    with tempfile.TemporaryDirectory(prefix="bench-quantize-") as td:
        td = Path(td)
        doodle(td, a.rounds, a.n, a.skip_aiq)
        onnx_path = mobilenet(td, a.rounds, a.n, a.skip_aiq)
        onnxruntime_int8(td, onnx_path, a.rounds, a.n)
    print()
    for text, _ in VERDICTS:
        print(text)
    ok = all(v for _, v in VERDICTS)
    print(f"bench_quantize verdict: {sum(v for _, v in VERDICTS)}/{len(VERDICTS)} targets met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
