"""``optimize``: try the compression variants, measure accuracy, size and latency, keep the best in budget.

Variants for a .tflite output: float, fp16, dynamic, int8 per-tensor, int8 per-channel, int16x8 and int8 with
auto mixed precision; for an .onnx output: float, fp16, dynamic, int8 QDQ U8S8 and S8S8. Accuracy is top-1
when the eval data has labels, else agreement with the float model's top-1, or a ``module:function`` metric
(outputs, labels-or-float-outputs) -> score. Latency comes from :func:`edgeport.bench.benchmark_one`.
The winner (lowest latency, then size, within ``max_drop``) is written atomically to ``output``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from edgeport._fileio import atomic_path
from edgeport.compress import _modelio
from edgeport.compress.evaluate import agreement, eval_feeds, load_metric, predict, top1
from edgeport.compress.quantize import _parse_drop, quantize
from edgeport.errors import EdgeportError, QualityBudgetError, UsageError

__all__ = ["optimize", "OptimizeReport", "Variant"]

_TFLITE = [("float", {}), ("fp16", {"mode": "fp16"}), ("dynamic", {"mode": "dynamic"}),
           ("int8 per-tensor", {"mode": "int8", "per_channel": False}), ("int8", {"mode": "int8"}),
           ("int16x8", {"mode": "int16x8"}), ("int8 mixed", {"mode": "int8", "auto_mixed_precision": True})]
_ONNX = [("float", {}), ("fp16", {"mode": "fp16"}), ("dynamic", {"mode": "dynamic"}),
         ("int8 U8S8", {"mode": "int8"}), ("int8 S8S8", {"mode": "int8", "activation_type": "int8"})]


@dataclass
class Variant:
    name: str
    path: str | None = None
    size_bytes: int = 0
    latency_ms: float | None = None
    metric: float | None = None
    drop: float | None = None
    within_budget: bool = False
    pareto: bool = False
    eligible: bool = True  # False: shown for comparison only (another format than the output's)
    error: str | None = None


@dataclass
class OptimizeReport:
    source: str
    output: str | None
    metric_name: str
    float_metric: float
    max_drop: float
    variants: list[Variant] = field(default_factory=list)
    chosen: str | None = None
    plot: str | None = None

    def to_dict(self):
        return asdict(self)


def optimize(model: str | os.PathLike, output: str | os.PathLike, eval_data, *, max_drop: float | str = 0.01,
             calib=None, variants: list[str] | None = None, metric: str | Callable | None = None,
             objective: str = "latency", plot: str | os.PathLike | None = None, threads: int = 1, runs: int = 50,
             include_float: bool = True,
             progress: Callable[[str, int, int], None] | None = None) -> OptimizeReport:
    """See the module docstring. ``variants`` restricts the names tried; ``objective``: latency | size."""
    budget = _parse_drop(max_drop)
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise UsageError(f"threads must be a positive integer, got {threads!r}", hint="e.g. --threads 1")
    if isinstance(runs, bool) or not isinstance(runs, int) or runs < 1:
        raise UsageError(f"runs must be a positive integer, got {runs!r}", hint="e.g. --runs 50")
    if objective not in ("latency", "size"):
        raise UsageError(f"unknown objective {objective!r}", hint="use latency or size")
    step = progress or (lambda *_: None)
    ofmt = _modelio.output_format(output)
    table = {"tflite": _TFLITE, "onnx": _ONNX}.get(ofmt)
    if table is None:
        raise UsageError(f"optimize writes .tflite or .onnx, not {Path(output).suffix}", hint="use -o best.tflite")
    if variants:
        unknown = set(variants) - {n for n, _ in table} - {"onnx int8"}
        if unknown:
            raise UsageError(f"unknown variant(s) {sorted(unknown)}", hint=f"choose from {[n for n, _ in table]}")
        table = [(n, o) for n, o in table if n in variants or n == "float"]
    if not include_float:
        table = [(n, o) for n, o in table if n != "float"]
    metric_fn = load_metric(metric) if isinstance(metric, str) else metric
    with tempfile.TemporaryDirectory(prefix="edgeport-opt-") as td:
        td = Path(td)
        src = _float_source(Path(model), ofmt, td)
        feeds, labels = eval_feeds(src, eval_data)
        ref_out = predict(src, feeds)
        score = _scorer(metric_fn, labels, ref_out)
        name = "top-1" if labels is not None and metric_fn is None else ("metric" if metric_fn else "agreement")
        rep = OptimizeReport(str(model), str(output), name, score(ref_out), budget)
        calib = calib if calib is not None else eval_data
        total = len(table)
        for k, (vname, opts) in enumerate(table):
            step(f"variant {vname}", k, total)
            v = Variant(vname)
            path = td / f"v{k}{src.suffix}"
            try:
                if not opts:
                    shutil.copyfile(src, path)
                else:
                    extra = {"max_drop": budget, "eval_data": eval_data} if opts.get("auto_mixed_precision") else {}
                    quantize(src, path, calib=calib, limit=128, **opts, **extra)
                v.path, v.size_bytes = str(path), _modelio.model_size(path)
                v.metric = score(predict(path, feeds))
                v.drop = rep.float_metric - v.metric
                v.within_budget = v.drop <= budget + 1e-12
                v.latency_ms = _latency(path, threads, runs)
            except EdgeportError as e:
                v.error = e.one_line()
            rep.variants.append(v)
        if _modelio.model_format(model) == "onnx" and ofmt == "tflite" and (not variants or "onnx int8" in variants):
            rep.variants.append(_onnx_int8_row(Path(model), td, eval_data, calib, score, rep.float_metric, budget,
                                               threads, runs))
        step("done", total, total)
        ok = [v for v in rep.variants if v.error is None]
        key = (lambda v: (v.latency_ms, v.size_bytes)) if objective == "latency" else (lambda v: (v.size_bytes, v.latency_ms))
        from edgeport.compress.pareto import pareto_front, plot_pareto

        costs = [(v.latency_ms if objective == "latency" else v.size_bytes / 1024) for v in ok]
        for i in pareto_front(list(zip(costs, [v.metric for v in ok]))):
            ok[i].pareto = True
        good = sorted((v for v in ok if v.within_budget and v.eligible), key=key)
        if good:
            rep.chosen = good[0].name
        if plot is not None and ok:
            ch = next((i for i, v in enumerate(ok) if v.name == rep.chosen), None)
            plot_pareto([v.name for v in ok], costs, [v.metric for v in ok], plot, chosen=ch,
                        xlabel="latency (ms, p50)" if objective == "latency" else "size (KiB)",
                        ylabel=rep.metric_name, floor=rep.float_metric - budget)
            rep.plot = str(plot)
        if not good:
            rep.output = None
            err = QualityBudgetError(f"no variant of {model} is within the budget of {budget * 100:.2f} points "
                                     f"({output} not written)", hint="raise --max-drop or include the float model")
            err.report = rep
            raise err
        best = good[0]
        with atomic_path(output) as tmp:
            shutil.copyfile(best.path, tmp)
        for v in rep.variants:
            v.path = str(output) if v is best else None
    return rep


def _onnx_int8_row(model: Path, td: Path, eval_data, calib, score, float_metric, budget, threads, runs) -> Variant:
    """ONNX int8 through ONNX Runtime, measured beside the TFLite variants (cannot be written to a .tflite)."""
    v = Variant("onnx int8 (ORT)", eligible=False)
    try:
        path = td / "onnx_int8.onnx"
        quantize(model, path, mode="int8", calib=calib, limit=128)
        feeds, _ = eval_feeds(model, eval_data)
        v.size_bytes, v.metric = _modelio.model_size(path), score(predict(path, feeds))
        v.drop = float_metric - v.metric
        v.within_budget = v.drop <= budget + 1e-12
        v.latency_ms = _latency(path, threads, runs)
    except EdgeportError as e:
        v.error = e.one_line()
    return v


def _float_source(model: Path, ofmt: str, td: Path) -> Path:
    fmt = _modelio.model_format(model)
    if fmt == ofmt:
        return model
    if fmt == "onnx" and ofmt == "tflite":
        from edgeport.convert import convert

        out = td / "float.tflite"
        convert(str(model), str(out), verify=False)
        return out
    raise UsageError(f"cannot optimize a {fmt} model into {ofmt}", hint="give an .onnx or .tflite model")


def _scorer(metric_fn, labels, ref_out):
    if metric_fn is not None:
        return lambda out: float(metric_fn(out, labels if labels is not None else ref_out))
    if labels is not None:
        return lambda out: top1(out, labels)
    return lambda out: agreement(out, ref_out)


def _latency(path: Path, threads: int, runs: int) -> float:
    try:
        from edgeport.bench import benchmark_one
    except ImportError:
        benchmark_one = None
    if benchmark_one is not None:
        return float(benchmark_one(path, threads=threads, warmup=5, runs=runs, memory=False).p50_ms)
    import time

    from edgeport.compress.tflite.interp import make_interpreter

    it = make_interpreter(path, threads=threads)
    ts = []
    for _ in range(runs):
        t = time.perf_counter()
        it.invoke()
        ts.append(time.perf_counter() - t)
    return float(np.median(ts) * 1e3)
