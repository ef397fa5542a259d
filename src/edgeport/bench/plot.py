"""Benchmark plot: latency distribution per row (box plot) beside average latency with std error bars.

Uses matplotlib's Agg backend (no display) and writes the PNG atomically.
"""

from __future__ import annotations

import os
from pathlib import Path

from edgeport._fileio import atomic_path
from edgeport.bench.result import BenchmarkComparison

__all__ = ["plot_comparison"]


def _label(r) -> str:
    return f"{Path(r.model).name}\n{r.backend}"


def plot_comparison(comparison: BenchmarkComparison, path: str | os.PathLike, title: str | None = None) -> Path:
    """Draw the comparison to ``path`` (PNG) and return the path."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    rows = list(comparison.results)
    labels = [_label(r) for r in rows]
    n = max(1, len(rows))
    fig = Figure(figsize=(min(16.0, max(8.0, 3.2 * n)), 4.5), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    ax1.boxplot([r.samples_ms or [r.avg_ms] for r in rows], showfliers=True, whis=(1, 99))
    ax1.set_xticks(range(1, len(rows) + 1), labels, fontsize=8)
    lo = min((min(r.samples_ms) for r in rows if r.samples_ms), default=0.0)
    hi = max((max(r.samples_ms) for r in rows if r.samples_ms), default=0.0)
    if lo > 0 and hi / lo > 20:  # rows of very different speed: a log axis keeps every box readable
        ax1.set_yscale("log")
    ax1.set_ylabel("latency per inference (ms)")
    ax1.set_title("distribution (whiskers p1-p99)")
    ax1.grid(axis="y", alpha=0.3)
    yerr = [[min(r.std_ms, r.avg_ms) for r in rows], [r.std_ms for r in rows]]  # no bar below zero
    ax2.bar(range(len(rows)), [r.avg_ms for r in rows], yerr=yerr, capsize=4, color="tab:blue")
    ax2.set_xticks(range(len(rows)), labels, fontsize=8)
    ax2.set_ylabel("average latency (ms), error bar = std")
    ax2.set_title("average")
    ax2.grid(axis="y", alpha=0.3)
    cpu = comparison.cpu.get("model", "")
    thr = sorted({str(r.threads) if r.threads else "backend default" for r in rows})
    fig.suptitle(title or f"edgeport bench - {cpu} - threads {', '.join(str(t) for t in thr)} - "
                 f"{comparison.runs} runs", fontsize=9)
    dest = Path(path)
    with atomic_path(dest) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    return dest
