"""Latency statistics, computed the way TFLite's benchmark_model reports them.

``summarize(samples_ns)`` turns per-iteration wall times (nanoseconds from
``time.perf_counter_ns``) into a :class:`LatencyStats` in milliseconds:
count, avg, std (population std, ddof=0, as benchmark_model's stat summarizer),
min, p50, p90, p99, max and throughput (inferences per second = 1000 / avg_ms).
Percentiles use linear interpolation between closest ranks (numpy's default).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Sequence

import numpy as np

__all__ = ["LatencyStats", "summarize", "PERCENTILES"]

PERCENTILES = (50, 90, 99)


@dataclass(frozen=True)
class LatencyStats:
    """Steady-state latency over ``count`` timed runs, all times in milliseconds."""

    count: int
    avg_ms: float
    std_ms: float
    min_ms: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    throughput_per_s: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarize(samples_ns: Sequence[int] | np.ndarray) -> LatencyStats:
    """Summarize per-iteration times in nanoseconds; raises ValueError when empty."""
    a = np.asarray(samples_ns, dtype=np.float64) / 1e6
    if a.size == 0:
        raise ValueError("no latency samples to summarize")
    if not np.all(np.isfinite(a)) or np.any(a < 0):
        raise ValueError("latency samples must be finite and non-negative")
    p50, p90, p99 = (float(v) for v in np.percentile(a, PERCENTILES))
    avg = float(a.mean())
    return LatencyStats(
        count=int(a.size),
        avg_ms=avg,
        std_ms=float(a.std(ddof=0)),
        min_ms=float(a.min()),
        p50_ms=p50,
        p90_ms=p90,
        p99_ms=p99,
        max_ms=float(a.max()),
        throughput_per_s=(1000.0 / avg) if avg > 0 else float("inf"),
    )
