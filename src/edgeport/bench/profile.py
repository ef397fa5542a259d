"""Per-op profiles: where the time goes inside one inference, from the backend's own profiler.

One profiler per backend, registered with ``@op_profiler("backend")``. Each opens
its own native session with profiling switched on (profiling slows a run down, so
it is never mixed with the timed runs), runs one untimed warm-up plus ``runs``
inferences on the same feeds, and returns :class:`OpProfile` rows, one per node,
sorted by time per inference (the median time of the node's calls times its calls per
inference: one busy moment on a shared machine does not make a node look slow).

* onnxruntime: ``SessionOptions.enable_profiling`` -> Chrome-trace JSON; the
  ``*_kernel_time`` events of every run after the first are summed per node.
* openvino: ``PERF_COUNT`` -> ``InferRequest.profiling_info`` (``real_time`` of the
  nodes whose status is EXECUTED).
* litert: the ai_edge_litert Python API exposes no op profiler, so every operator is
  cut into a single-op model and timed alone, interleaved with the whole model
  (:mod:`edgeport.bench.profile_litert`). The rows come back as :class:`ProfileRows`,
  a list whose ``note`` says sum/whole and what isolated timings miss.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

__all__ = ["OpProfile", "ProfileRows", "ProfileUnavailable", "op_profiler", "profile_ops", "by_op_type", "PROFILERS"]


@dataclass(frozen=True)
class OpProfile:
    """One node: time per inference in ms (median per call x calls per inference), its share of the
    profiled total in percent, calls per inference, and the node's index where the backend numbers
    its nodes (LiteRT: operator index in the main subgraph; None elsewhere)."""

    name: str
    op_type: str
    time_ms: float
    percent: float
    calls: float
    index: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class ProfileRows(list):
    """A list of :class:`OpProfile` with a one-line ``note`` (how the rows were measured) and the
    backend's own ``summary`` record (e.g. :class:`edgeport.bench.profile_litert.LiteRTProfile`)."""

    def __init__(self, rows=(), note: str | None = None, summary: Any = None):
        super().__init__(rows)
        self.note = note
        self.summary = summary


class ProfileUnavailable(Exception):
    """This backend offers no per-op profile (the message says why)."""


Profiler = Callable[[str, Mapping[str, np.ndarray], int, "int | None"], list[OpProfile]]
PROFILERS: dict[str, Profiler] = {}


def op_profiler(backend: str) -> Callable[[Profiler], Profiler]:
    """Register the per-op profiler for ``backend``."""

    def deco(fn: Profiler) -> Profiler:
        PROFILERS[backend] = fn
        return fn

    return deco


def _rows(totals: dict[tuple[str, str], list[float]], runs: int) -> list[OpProfile]:
    # median per call (robust to a busy machine) x calls per inference
    per_inf = {k: float(np.median(v)) * len(v) / runs for k, v in totals.items() if v}
    grand = sum(per_inf.values()) or 1.0
    rows = [OpProfile(name=n, op_type=t, time_ms=ms, percent=100.0 * ms / grand, calls=len(totals[(n, t)]) / runs)
            for (n, t), ms in per_inf.items()]
    return sorted(rows, key=lambda r: r.time_ms, reverse=True)


def profile_ops(path: str | Path, backend: str, feeds: Mapping[str, np.ndarray], runs: int = 20,
                threads: int | None = None) -> list[OpProfile]:
    """Per-node profile of ``path`` on ``backend``; raises ProfileUnavailable where there is none."""
    fn = PROFILERS.get(backend)
    if fn is None:
        raise ProfileUnavailable(f"per-op profile not available for backend '{backend}'")
    from edgeport.model import check_file

    check_file(path)
    return fn(str(path), feeds, max(1, int(runs)), threads)


def by_op_type(rows: list[OpProfile]) -> list[OpProfile]:
    """Aggregate node rows by op type (name = op type, calls summed)."""
    agg: dict[str, list[float]] = {}
    for r in rows:
        a = agg.setdefault(r.op_type, [0.0, 0.0, 0.0])
        a[0] += r.time_ms
        a[1] += r.percent
        a[2] += r.calls
    out = [OpProfile(name=t, op_type=t, time_ms=v[0], percent=v[1], calls=v[2]) for t, v in agg.items()]
    return sorted(out, key=lambda r: r.time_ms, reverse=True)


@op_profiler("onnxruntime")
def _profile_ort(path: str, feeds, runs: int, threads: int | None) -> list[OpProfile]:
    import onnxruntime as ort

    with tempfile.TemporaryDirectory(prefix="edgeport-prof-") as tmp:
        so = ort.SessionOptions()
        so.enable_profiling = True
        so.profile_file_prefix = str(Path(tmp) / "ort")
        so.log_severity_level = 3
        if threads:  # as edgeport.runtime's onnxruntime backend
            so.intra_op_num_threads = int(threads)
            so.inter_op_num_threads = 1
        sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        for _ in range(runs + 1):
            sess.run(None, dict(feeds))
        trace = Path(sess.end_profiling())
        events = json.loads(trace.read_text())
    model_runs = sorted((e["ts"], e["ts"] + e["dur"]) for e in events
                        if e.get("cat") == "Session" and e.get("name") == "model_run")
    start = model_runs[0][1] if len(model_runs) > 1 else 0  # skip the warm-up run
    totals: dict[tuple[str, str], list[float]] = {}
    for e in events:
        name = e.get("name", "")
        if e.get("cat") != "Node" or not name.endswith("_kernel_time") or e.get("ts", 0) < start:
            continue
        key = (name[: -len("_kernel_time")], e.get("args", {}).get("op_name", "?"))
        totals.setdefault(key, []).append(e.get("dur", 0) / 1000.0)
    return _rows(totals, runs)


@op_profiler("openvino")
def _profile_ov(path: str, feeds, runs: int, threads: int | None) -> list[OpProfile]:
    import openvino as ov

    core = ov.Core()
    config: dict[str, Any] = {"PERF_COUNT": True, "INFERENCE_PRECISION_HINT": "f32"}  # f32 as the runtime
    if threads:
        config["INFERENCE_NUM_THREADS"] = int(threads)
    compiled = core.compile_model(core.read_model(path), "CPU", config)
    req = compiled.create_infer_request()
    req.infer(dict(feeds))
    totals: dict[tuple[str, str], list[float]] = {}
    for _ in range(runs):
        req.infer(dict(feeds))
        for info in req.profiling_info:
            if str(info.status).endswith("EXECUTED") and not str(info.status).endswith("NOT_EXECUTED"):
                key = (info.node_name, info.node_type)
                totals.setdefault(key, []).append(info.real_time.total_seconds() * 1000.0)
    return _rows(totals, runs)


@op_profiler("litert")
def _profile_litert(path: str, feeds, runs: int, threads: int | None) -> list[OpProfile]:
    from edgeport.bench.profile_litert import profile_litert

    prof = profile_litert(path, feeds, runs=runs, threads=threads)
    return ProfileRows(prof.rows, note=prof.note(), summary=prof)
