"""The benchmark runner: ``benchmark(models, backends=...)`` -> :class:`BenchmarkComparison`.

Per model x backend pair, in this order, in this process:

1. ``edgeport.model.check_file`` (no native code on an unverified file);
2. memory baseline (RSS) and peak tracking start (:class:`~edgeport.bench.memory.RssMonitor`);
3. ``init``: ``edgeport.runtime.load(path, backend=, threads=)``;
4. ``first``: the first inference, timed alone;
5. ``warmup`` runs, averaged, excluded from the statistics;
6. ``runs`` timed runs: ``time.perf_counter_ns`` around each ``session.run`` only;
7. peak RSS read, session closed, garbage collected;
8. with ``profile_ops``: a separate profiled native session (:mod:`edgeport.bench.profile`).

Inputs are built once per pair and reused for every run. Nothing here prints:
the ``progress(done, total, label)`` callback lets a caller draw a progress bar.
"""

from __future__ import annotations

import gc
import os
import time
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from edgeport.bench.memory import RssMonitor
from edgeport.bench.profile import ProfileUnavailable, profile_ops as _profile_ops
from edgeport.bench.result import BenchmarkComparison, BenchmarkResult
from edgeport.bench.stats import summarize
from edgeport.bench.sysinfo import cpu_info
from edgeport.errors import BackendUnavailableError, EdgeportError, UsageError

__all__ = ["benchmark", "benchmark_one", "model_size_bytes"]

Progress = Callable[[int, int, str], None]


def model_size_bytes(path: str | Path, fmt: str) -> int:
    """Bytes on disk; for OpenVINO IR the .xml plus the .bin beside it."""
    p = Path(path)
    size = p.stat().st_size
    if fmt == "openvino" and p.with_suffix(".bin").is_file():
        size += p.with_suffix(".bin").stat().st_size
    return size


def _fallback_dict(fb: Any) -> dict[str, Any]:
    if hasattr(fb, "to_dict"):
        return fb.to_dict()
    if is_dataclass(fb):
        return asdict(fb)
    return {"reason": str(fb)}


def _metadata(path: Path):
    """The model's metadata (mean/std for images), or None when it cannot be read."""
    from edgeport.model import read_metadata

    try:
        return read_metadata(path)
    except EdgeportError:
        return None


def _check(path: Path) -> str:
    if not path.is_file():
        raise UsageError(f"model file not found: {path}", hint="check the path")
    from edgeport.model import check_file, sniff_format

    fmt = sniff_format(path)
    check_file(path, fmt)
    return fmt


def _timed(run: Callable, feeds, n: int, step: int, tick: Callable[[int], None], done: int) -> np.ndarray:
    """Time ``n`` calls of ``run(feeds)`` in ns; report progress every ``step`` calls (``done`` runs before these)."""
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        t0 = time.perf_counter_ns()
        run(feeds)
        out[i] = time.perf_counter_ns() - t0
        if i % step == 0:
            tick(done + i)
    return out


def benchmark_one(path: str | Path, backend: str | None = None, threads: int | None = None, warmup: int = 10,
                  runs: int = 200, inputs: Mapping[str, Any] | None = None, data: str | Path | None = None,
                  memory: bool = True, profile_ops: bool = False, progress: Progress | None = None,
                  accelerator: str = "auto", _done: int = 0, _total: int | None = None,
                  fmt: str | None = None) -> BenchmarkResult:
    """Benchmark one model on one backend (see the module docstring for the steps)."""
    from edgeport.bench.inputs import build_feeds
    from edgeport.runtime import load

    path = Path(path)
    fmt = fmt or _check(path)
    per = warmup + runs + 1 + int(profile_ops)
    total = _total if _total is not None else per
    label = f"{path.name} [{backend or 'default'}]"
    step = max(1, (warmup + runs) // 100)
    tick = (lambda d: progress(_done + d, total, label)) if progress else (lambda d: None)
    metadata = _metadata(path) if (inputs or data) else None

    gc.collect()
    monitor = RssMonitor() if memory else None
    if monitor:
        monitor.__enter__()
    try:
        t0 = time.perf_counter_ns()
        session = load(str(path), backend=backend, accelerator=accelerator, threads=threads)
        init_ns = time.perf_counter_ns() - t0
        try:
            feeds = build_feeds(session.inputs, inputs=inputs, data=data, metadata=metadata,
                                unknown_shapes=session.unknown_shapes)
            run = session.run
            t0 = time.perf_counter_ns()
            run(feeds)
            first_ns = time.perf_counter_ns() - t0
            tick(1)
            warm = _timed(run, feeds, warmup, step, tick, done=2)
            samples = _timed(run, feeds, runs, step, tick, done=2 + warmup)
            tick(1 + warmup + runs)
            backend_used = session.backend
            accel = getattr(session, "accelerator", "cpu") or "cpu"
            fallbacks = [_fallback_dict(f) for f in (getattr(session, "fallbacks", None) or [])]
            threads_used = getattr(session, "threads", None) or threads
        finally:
            session.close()
    finally:
        if monitor:
            monitor.__exit__(None, None, None)
    del session
    gc.collect()

    source = "random" if not (inputs or data) else ", ".join(
        [f"{k or 'input'}={v if not isinstance(v, np.ndarray) else 'array'}" for k, v in (inputs or {}).items()]
        + ([f"data={data}"] if data is not None else []))
    result = BenchmarkResult(
        model=str(path), format=fmt, backend=backend_used, accelerator=accel, threads=threads_used,
        size_bytes=model_size_bytes(path, fmt), init_ms=init_ns / 1e6, first_ms=first_ns / 1e6,
        warmup_avg_ms=float(warm.mean() / 1e6) if warmup else None, stats=summarize(samples),
        fallbacks=fallbacks,
        peak_rss_mb=monitor.peak_mb if monitor else None,
        rss_baseline_mb=monitor.baseline_mb if monitor else None,
        memory_method=monitor.method if monitor else None,
        input_source=source, samples_ms=(samples / 1e6).tolist(),
    )
    if profile_ops:
        try:
            rows = _profile_ops(path, backend_used, feeds, runs=min(max(runs, 1), 20), threads=threads)
            result.op_profile = [r.to_dict() for r in rows]
            notes = [getattr(rows, "note", None)]  # how the rows were measured (LiteRT: isolated ops, sum/whole)
            if accel != "cpu":
                notes.append(f"the per-op profile ran on the CPU, the timed runs on {accel}")
            result.op_profile_note = "; ".join(n for n in notes if n) or None
        except ProfileUnavailable as e:
            result.op_profile_note = str(e)
        tick(per)
    return result


def _pairs(models: Sequence[Path], backends: Sequence[str | None]) -> tuple[list[tuple[Path, str, str | None]], list]:
    from edgeport.runtime import backends_for_format

    pairs, skipped = [], []
    for m in models:
        fmt = _check(m)
        if backends == [None]:
            pairs.append((m, fmt, None))
            continue
        ok = backends_for_format(fmt)
        mine = [b for b in backends if b in ok]
        skipped += [{"model": str(m), "backend": b, "reason": f"backend '{b}' cannot run {fmt} models"}
                    for b in backends if b not in ok]
        if not mine:
            raise BackendUnavailableError(
                f"none of the backends {list(backends)} can run {m} ({fmt})",
                hint=f"use one of {ok or 'the installed backends'} for {fmt} models")
        pairs += [(m, fmt, b) for b in mine]
    return pairs, skipped


def benchmark(models: str | os.PathLike | Sequence[str | os.PathLike], backends: Sequence[str] | str | None = None,
              threads: int | None = None, warmup: int = 10, runs: int = 200,
              inputs: Mapping[str, Any] | None = None, data: str | os.PathLike | None = None, memory: bool = True,
              profile_ops: bool = False, progress: Progress | None = None,
              accelerator: str = "auto") -> BenchmarkComparison:
    """Benchmark every model x backend pair, one after another, and compare them to the first row.

    ``backends=None`` runs each model on its format's default backend. A backend that
    cannot run a model's format is skipped for that model (listed in ``.skipped``).
    ``inputs``: ``{input_name: path_or_array}``; ``data``: an .npz, a file or a folder
    (see :mod:`edgeport.bench.inputs`); other inputs are random from the signature.
    ``progress(done, total, label)`` is called as runs complete. ``accelerator`` goes to
    ``edgeport.runtime.load`` (rows show the one used and any fallback).
    """
    if isinstance(models, (str, os.PathLike)):
        models = [models]
    if not models:
        raise UsageError("no model to benchmark", hint="give at least one model file")
    if runs < 1 or warmup < 0:
        raise UsageError(f"runs must be >= 1 and warmup >= 0 (got runs={runs}, warmup={warmup})",
                         hint="use e.g. --runs 200 --warmup 10")
    if threads is not None and threads < 1:
        raise UsageError(f"threads must be >= 1 (got {threads})", hint="omit --threads for the backend default")
    if isinstance(backends, str):
        backends = [backends]
    backends = list(dict.fromkeys(backends)) if backends else [None]
    pairs, skipped = _pairs([Path(m) for m in models], backends)
    per = warmup + runs + 1 + int(profile_ops)
    total = per * len(pairs)
    results = []
    for i, (m, fmt, b) in enumerate(pairs):
        results.append(benchmark_one(m, backend=b, threads=threads, warmup=warmup, runs=runs, inputs=inputs,
                                     data=data, memory=memory, profile_ops=profile_ops, progress=progress,
                                     accelerator=accelerator, _done=i * per, _total=total, fmt=fmt))
    return BenchmarkComparison(results=results, cpu=cpu_info(), warmup=warmup, runs=runs, skipped=skipped)
