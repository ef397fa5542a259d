"""``quantize``: one entry point for TFLite / ONNX / OpenVINO quantization, evaluation and budgets.

The candidate is built in a temporary folder, evaluated, and moved onto ``output`` atomically only when
it is within ``max_drop``; otherwise :class:`~edgeport.errors.QualityBudgetError` is raised and nothing
is written. Calibration data are validated before any work.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from edgeport._fileio import atomic_path
from edgeport.compress import _modelio
from edgeport.compress.calibration import load_calibration
from edgeport.compress.evaluate import agreement, cosine, eval_feeds, predict, snr_db, top1
from edgeport.compress.report import QuantizationReport
from edgeport.errors import QualityBudgetError, UsageError

__all__ = ["quantize", "MODES", "METHODS", "FALLBACKS"]

MODES = ("fp16", "dynamic", "int8", "int16x8")
METHODS = ("minmax", "percentile", "entropy")
FALLBACKS = ("int16", "float")
Progress = Callable[[str, int, int], None]


def _parse_drop(max_drop) -> float | None:
    if max_drop is None:
        return None
    try:
        if isinstance(max_drop, str):
            s = max_drop.strip()
            v = float(s.rstrip("%")) / 100 if s.endswith("%") else float(s)
        else:
            v = float(max_drop)
    except (TypeError, ValueError):
        raise UsageError(f"bad max-drop {max_drop!r}", hint="give a fraction (0.01) or a percentage (1%)") from None
    if not 0 <= v <= 1:
        raise UsageError(f"max-drop {max_drop!r} is out of range", hint="give a fraction (0.01) or a percentage (1%)")
    return v


def quantize(model: str | os.PathLike, output: str | os.PathLike, *, mode: str = "int8", calib=None,
             per_channel: bool = True, method: str = "minmax", percentile: float = 99.99,
             diagnose: bool = False, auto_mixed_precision: bool = False, max_drop: float | str | None = None,
             eval_data=None, keep_float: Sequence[str] = (), int16_layers: Sequence[str] = (), int_io: bool = False, limit: int | None = 256,
             onnx_format: str = "qdq", activation_type: str = "uint8", mean=None, std=None,
             fallback: str = "float", progress: Progress | None = None) -> QuantizationReport:
    """Quantize ``model`` into ``output`` (format from the extension) and return a report.

    mode: fp16 | dynamic (int8 weights, float activations) | int8 (full integer) | int16x8.
    calib: folder of images, .npz/.npy, or an array (needed by int8/int16x8 and for diagnosis).
    method: minmax | percentile | entropy (KL divergence; TFLite, ONNX).
    diagnose: compare every quantized layer with float (TFLite int8/int16x8).
    auto_mixed_precision: move the fewest layers to a higher precision to bring the drop within ``max_drop``.
    fallback: what auto mixed precision gives a layer first (TFLite int8): "float" (the default: a float
      layer runs on XNNPACK, as fast as int8 here) or "int16" (16x8 activations, then float if that is not
      enough: keeps the layer integer-only for integer-only hardware, but LiteRT runs 16x8 on its reference
      kernels, 20-30x slower on the demo model). The report lists ``int16_layers`` and ``float_layers`` and the latency of each variant.
    max_drop: the accuracy budget (fraction or "1%"): top-1 points on ``eval_data`` with labels, else
      disagreement with the float model's top-1 on ``eval_data`` or the calibration data.
    keep_float: layers (output tensor / node names) to leave in float.
    int16_layers: layers of a TFLite int8 model to run with int16 activations (16x8).
    int_io: integer inputs/outputs instead of QUANTIZE/DEQUANTIZE at the edges (TFLite).
    mean, std: normalization of uint8 image data (default: the model's metadata).
    onnx_format: qdq | qoperator; activation_type: uint8 (U8S8) | int8 (S8S8) — ONNX only.
    progress: callback (stage, done, total).
    """
    t0 = time.perf_counter()
    step = progress or (lambda *_: None)
    if mode not in MODES:
        raise UsageError(f"unknown mode {mode!r}", hint=f"use one of {', '.join(MODES)}")
    if fallback not in FALLBACKS:
        raise UsageError(f"unknown fallback {fallback!r}", hint=f"use one of {', '.join(FALLBACKS)}")
    if method not in METHODS:
        raise UsageError(f"unknown calibration method {method!r}", hint=f"use one of {', '.join(METHODS)}")
    budget = _parse_drop(max_drop)
    if auto_mixed_precision and budget is None:
        raise UsageError("--auto-mixed-precision needs a budget", hint="add --max-drop, e.g. --max-drop 1%")
    src = Path(model)
    fmt, ofmt = _modelio.model_format(src), _modelio.output_format(output)
    static = mode in ("int8", "int16x8")
    needs_calib = static or diagnose or auto_mixed_precision
    if needs_calib and calib is None:
        raise UsageError(f"mode {mode} needs calibration data", hint="pass --calib DIR|FILE.npz")
    with tempfile.TemporaryDirectory(prefix="edgeport-q-") as td:
        td = Path(td)
        src, fmt = _bring_to(src, fmt, ofmt, td)
        inputs = _modelio.model_inputs(src, fmt)
        meta_mean, meta_std = _modelio.model_norm(src)
        mean, std = (mean if mean is not None else meta_mean), (std if std is not None else meta_std)
        feeds = load_calibration(calib, inputs, mean=mean, std=std, limit=limit) if calib is not None else []
        rep = QuantizationReport(source=str(model), output=str(output), format=ofmt, mode=mode, method=method,
                                 per_channel=per_channel, size_before=_modelio.model_size(src),
                                 calibration_samples=len(feeds), max_drop=budget)
        cand = td / ("candidate" + Path(output).suffix)
        opts = dict(mode=mode, feeds=feeds, per_channel=per_channel, method=method, percentile=percentile,
                    int_io=int_io, onnx_format=onnx_format, activation_type=activation_type, cache={},
                    step=step, int16=list(int16_layers))
        keep = list(keep_float)
        build = _BUILDERS[ofmt]
        step("quantize", 0, 1)
        info = build(src, cand, keep=keep, **opts)
        step("quantize", 1, 1)
        ev = _Evaluator(src, feeds, eval_data, limit) if (budget is not None or eval_data is not None) else None
        if ev is not None:
            rep.metric_name, rep.float_metric = ev.name, ev.reference()
            rep.quant_metric = ev.score(cand)
        if auto_mixed_precision and ofmt in _DIAGNOSE and static:
            info = _auto_mixed(src, cand, build, opts, keep, ev, rep, budget, step, _DIAGNOSE[ofmt],
                               fallback if ofmt == "tflite" and mode == "int8" else "float")
        elif auto_mixed_precision:
            rep.notes.append("auto mixed precision needs a TFLite or ONNX int8/int16x8 model")
        rep.quantized_layers, rep.float_layers = info.get("quantized", []), info.get("float", [])
        rep.int16_layers = info.get("int16", [])
        rep.notes += info.get("notes", [])
        if feeds:
            step("compare", 0, 1)
            a, b = predict(src, feeds[:32]), predict(cand, feeds[:32])
            rep.output_cosine, rep.output_snr_db = cosine(a, b), snr_db(a, b)
            step("compare", 1, 1)
        if (diagnose or auto_mixed_precision) and ofmt in _DIAGNOSE and static:
            rep.layers = _DIAGNOSE[ofmt](src, cand, feeds, info)
            if ofmt == "onnx":
                rep.quantized_layers = [s.name for s in rep.layers if not s.kept_float]
        elif diagnose:
            rep.notes.append(f"layer-wise diagnosis needs a TFLite or ONNX int8/int16x8 model, not {ofmt} {mode}")
        rep.size_after = _modelio.model_size(cand)
        rep.seconds = time.perf_counter() - t0
        if rep.within_budget is False:
            err = QualityBudgetError(
                f"{mode} model drops {rep.metric_name} by {rep.drop * 100:.2f} points, over the budget of "
                f"{budget * 100:.2f} ({output} not written)",
                hint="try --auto-mixed-precision, --per-channel, another --method, or a larger --max-drop")
            err.report = rep
            raise err
        _publish(cand, Path(output))
    return rep


def _bring_to(src: Path, fmt: str, ofmt: str, td: Path) -> tuple[Path, str]:
    """Convert the float source to the output's format when they differ (ONNX -> TFLite / OpenVINO)."""
    if fmt == ofmt:
        return src, fmt
    if fmt == "onnx" and ofmt == "tflite":
        from edgeport.convert import convert

        out = td / "float.tflite"
        convert(str(src), str(out), verify=False)
        return out, "tflite"
    if fmt == "onnx" and ofmt == "openvino":
        return src, "onnx"  # OpenVINO reads ONNX directly
    raise UsageError(f"cannot quantize a {fmt} model into {ofmt}", hint="convert it first with `edgeport convert`")


def _publish(cand: Path, output: Path) -> None:
    if output.suffix.lower() == ".xml":
        with atomic_path(output.with_suffix(".bin")) as tmp:
            shutil.copyfile(cand.with_suffix(".bin"), tmp)
    with atomic_path(output) as tmp:
        shutil.copyfile(cand, tmp)


# -- builders: (src, dst, keep, **opts) -> {"quantized": [...], "float": [...], "notes": [...]} ---------------

def _build_tflite(src, dst, *, keep, mode, feeds, per_channel, method, percentile, int_io, cache, step,
                  int16=(), **_):
    from edgeport.compress.tflite import _fb

    m = _fb.read_model(src)
    if mode == "fp16":
        from edgeport.compress.tflite.weights_only import to_fp16

        done = to_fp16(m)
        _fb.write_model(m, dst)
        return {"quantized": done, "notes": ["float16 weights, float compute"]}
    if mode == "dynamic":
        from edgeport.compress.tflite.weights_only import to_dynamic

        done = to_dynamic(m, per_channel)
        _fb.write_model(m, dst)
        return {"quantized": done, "notes": ["int8 weights, float activations (hybrid kernels)"]}
    from edgeport.compress.tflite.calibrate import collect_ranges
    from edgeport.compress.tflite.rewrite import rewrite_integer

    if "ranges" not in cache:  # one calibration per quantize() call (auto mixed precision rebuilds often)
        cache["exact"] = {}
        cache["ranges"] = collect_ranges(src, feeds, method, percentile, progress=lambda d, t: step("calibrate", d, t),
                                         exact=cache["exact"])
    info = rewrite_integer(m, cache["ranges"], bits="int8" if mode == "int8" else "int16",
                           per_channel=per_channel, keep_float=keep, int_io=int_io,
                           int16_layers=int16 if mode == "int8" else (), exact_ranges=cache["exact"])
    _fb.write_model(m, dst)
    return {"quantized": info.quantized_layers, "float": info.float_layers, "int16": info.int16_layers}


def _build_onnx(src, dst, *, keep, mode, feeds, per_channel, method, percentile, onnx_format, activation_type, **_):
    from edgeport.compress.onnx_quant import quantize_onnx

    quantize_onnx(src, dst, mode, feeds, per_channel=per_channel, method=method, percentile=percentile,
                  fmt=onnx_format, activation_type=activation_type, exclude=keep)
    label = {"fp16": "float16 initializers + Cast", "dynamic": "dynamic int8 (onnxruntime)",
             "int8": f"static {onnx_format.upper()} {'U8S8' if activation_type == 'uint8' else 'S8S8'}",
             "int16x8": "static QDQ int16 activations, int8 weights"}[mode]
    return {"notes": [label], "float": list(keep)}


def _build_openvino(src, dst, *, keep, mode, feeds, method, **_):
    from edgeport.compress.openvino_quant import quantize_openvino

    return {"notes": quantize_openvino(src, dst, mode, feeds, method=method, exclude=keep), "float": list(keep)}


_BUILDERS = {"tflite": _build_tflite, "onnx": _build_onnx, "openvino": _build_openvino}


class _Evaluator:
    """Top-1 on labelled eval data, else agreement with the float model's top-1."""

    def __init__(self, float_model: Path, calib_feeds, eval_data, limit):
        if eval_data is not None:
            self.feeds, self.labels = eval_feeds(float_model, eval_data, None)
        else:
            self.feeds, self.labels = calib_feeds, None
        self.float_out = predict(float_model, self.feeds)
        self.name = "top-1" if self.labels is not None else "agreement"

    def reference(self) -> float:
        return top1(self.float_out, self.labels) if self.labels is not None else 1.0

    def score(self, path) -> float:
        out = predict(path, self.feeds)
        return top1(out, self.labels) if self.labels is not None else agreement(out, self.float_out)


def _diag_tflite(src, cand, feeds, info):
    from edgeport.compress.tflite.diagnose import diagnose_tflite

    return diagnose_tflite(src, cand, feeds, info.get("quantized", []), info.get("float", []))


def _diag_onnx(src, cand, feeds, info):
    from edgeport.compress.onnx_diagnose import diagnose_onnx

    return diagnose_onnx(src, cand, feeds, info.get("float", []))


_DIAGNOSE = {"tflite": _diag_tflite, "onnx": _diag_onnx}


_IDEAL_DB = 48.0  # SNR of an ideal 8-bit quantization: what a layer fed by the float input is measured against


def _pick(stats, keep, producers):
    """The quantized layer that adds the most error: its SNR drop below its worst input (TFLite), else the worst SNR.

    A layer's SNR includes the error of everything upstream, so the plain worst layer is usually one
    downstream of the culprit (and pooling/reshape layers add nothing); ranking by the added error moves
    the layer that causes it.
    """
    cands = [s for s in stats if not s.kept_float and s.name not in keep]
    if not cands or not producers:
        return cands[0] if cands else None
    snr = {s.name: (s.snr_db if not s.kept_float else float("inf")) for s in stats}

    def added(s):
        ins = [min(snr[p], _IDEAL_DB) if p in snr else _IDEAL_DB for p in producers.get(s.name, [])]
        return (min(ins) if ins else _IDEAL_DB) - s.snr_db

    return max(cands, key=added)


def _auto_mixed(src, cand, build, opts, keep, ev, rep, budget, step, diag, fallback="float"):
    """Greedy: while over budget, give the layer that adds the most error a higher precision, re-evaluate.

    With ``fallback="int16"`` a layer goes int8 -> int16 activations first (where its op has a 16x8
    kernel) and to float only if it is picked again; with ``"float"`` it goes straight to float.
    """
    from edgeport.compress.tflite.diagnose import layer_inputs, layer_ops
    from edgeport.compress.tflite.ops import rule_for

    int16 = opts["int16"]
    info = build(src, cand, keep=keep, **opts)
    n_total = max(len(info.get("quantized", [])), 1)
    tfl = rep.format == "tflite"
    ops, producers = (layer_ops(src), layer_inputs(src)) if tfl else ({}, {})
    moves = 0
    while rep.drop is not None and rep.drop > budget + 1e-12:
        worst = _pick(diag(src, cand, opts["feeds"], info), keep, producers)
        if worst is None:
            break
        if fallback == "int16" and worst.name not in int16 and rule_for(ops.get(worst.name, ""), "int16"):
            int16.append(worst.name)
        else:
            if worst.name in int16:
                int16.remove(worst.name)
            keep.append(worst.name)
        moves += 1
        step("mixed precision", moves, n_total)
        info = build(src, cand, keep=keep, **opts)
        rep.quant_metric = ev.score(cand)
    if fallback == "int16":
        rep.notes.append(f"auto mixed precision moved {len(int16)} layer(s) to int16 activations: "
                         f"{', '.join(int16) or 'none'}")
    rep.notes.append(f"auto mixed precision kept {len(keep)} layer(s) in float: {', '.join(keep) or 'none'}")
    if tfl and moves:
        rep.latency_ms = _latencies(src, cand, build, opts)
    return info


def _latencies(src, cand, build, opts, rounds: int = 5, runs: int = 10) -> dict[str, float]:
    """Single-thread latency (ms) of the float model, the all-int8 model and the mixed result.

    Interleaved rounds (float, int8, mixed, float, ...), each the median of ``runs`` invokes; the median
    over rounds is reported. A quick estimate for the trade-off, not a benchmark.
    """
    from edgeport.compress.tflite.interp import make_interpreter

    with tempfile.TemporaryDirectory(prefix="edgeport-lat-") as td:
        all8 = Path(td) / "all_int8.tflite"
        build(src, all8, keep=[], **{**opts, "int16": []})
        its = {}
        for label, path in (("float", src), ("int8", all8), ("mixed", cand)):
            it = its[label] = make_interpreter(path, threads=1)
            for d in it.get_input_details():
                it.set_tensor(d["index"], np.zeros(d["shape"], d["dtype"]))
            it.invoke()
        per = {k: [] for k in its}
        for _ in range(rounds):
            for label, it in its.items():
                ts = []
                for _ in range(runs):
                    t0 = time.perf_counter()
                    it.invoke()
                    ts.append(time.perf_counter() - t0)
                per[label].append(float(np.median(ts)))
    return {k: float(np.median(v) * 1e3) for k, v in per.items()}
