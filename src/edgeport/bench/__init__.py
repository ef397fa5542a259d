"""edgeport.bench: the benchmark runner, like TFLite's benchmark_model, for every edgeport backend.

::

    from edgeport.bench import benchmark
    cmp = benchmark(["m.onnx", "m.tflite"], runs=200)     # BenchmarkComparison
    for row, ratio in zip(cmp, cmp.ratios()):
        print(row.backend, row.p50_ms, ratio["p50_ms"])

Reports model size, init time, first inference, warm-up average, count/avg/std/min/
p50/p90/p99/max, throughput, peak RSS over load + run beside the baseline, and
per-op profiles where the backend has a profiler. Nothing in this package prints.
"""

from __future__ import annotations

from edgeport.bench.memory import RssMonitor
from edgeport.bench.profile import OpProfile, by_op_type, profile_ops
from edgeport.bench.result import BenchmarkComparison, BenchmarkResult
from edgeport.bench.runner import benchmark, benchmark_one
from edgeport.bench.stats import LatencyStats, summarize

__all__ = [
    "benchmark", "benchmark_one", "BenchmarkResult", "BenchmarkComparison", "LatencyStats", "summarize",
    "RssMonitor", "OpProfile", "profile_ops", "by_op_type", "plot_comparison",
]


def plot_comparison(comparison, path, title=None):
    """Plot a comparison to a PNG (see :func:`edgeport.bench.plot.plot_comparison`); imports matplotlib lazily."""
    from edgeport.bench.plot import plot_comparison as _plot

    return _plot(comparison, path, title=title)
