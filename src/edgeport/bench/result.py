"""Benchmark report objects: one :class:`BenchmarkResult` per model x backend, and the comparison."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from edgeport.bench.stats import LatencyStats

__all__ = ["BenchmarkResult", "BenchmarkComparison", "RATIO_FIELDS"]

# Ratios to the first row, per field (row / first).
RATIO_FIELDS = ("avg_ms", "p50_ms", "init_ms", "size_bytes", "peak_rss_mb")


@dataclass
class BenchmarkResult:
    """What TFLite's benchmark_model reports for one model on one backend, plus peak memory and op profile.

    Times are milliseconds. ``init_ms`` is ``edgeport.runtime.load``; ``first_ms`` the
    first inference; ``warmup_avg_ms`` the average of the warm-up runs (first excluded);
    the steady-state stats cover the ``count`` timed runs only. ``peak_rss_mb`` is the
    process peak RSS over load + all runs, ``rss_baseline_mb`` the RSS just before load
    (``memory_method`` says how it was measured, see :mod:`edgeport.bench.memory`).
    """

    model: str
    format: str
    backend: str
    accelerator: str
    threads: int | None
    size_bytes: int
    init_ms: float
    first_ms: float
    warmup_avg_ms: float | None
    stats: LatencyStats
    fallbacks: list[dict[str, Any]] = field(default_factory=list)
    peak_rss_mb: float | None = None
    rss_baseline_mb: float | None = None
    memory_method: str | None = None
    input_source: str = "random"
    op_profile: list[dict[str, Any]] = field(default_factory=list)
    op_profile_note: str | None = None
    samples_ms: list[float] = field(default_factory=list, repr=False)

    def __getattr__(self, name: str):  # avg_ms, p50_ms, ... read through to the stats
        stats = self.__dict__.get("stats")
        if stats is not None and hasattr(stats, name):
            return getattr(stats, name)
        raise AttributeError(name)

    def to_dict(self, samples: bool = False) -> dict[str, Any]:
        d = {
            "model": self.model, "format": self.format, "backend": self.backend, "accelerator": self.accelerator,
            "fallbacks": self.fallbacks, "threads": self.threads, "size_bytes": self.size_bytes,
            "init_ms": self.init_ms, "first_ms": self.first_ms, "warmup_avg_ms": self.warmup_avg_ms,
            **self.stats.to_dict(),
            "peak_rss_mb": self.peak_rss_mb, "rss_baseline_mb": self.rss_baseline_mb,
            "memory_method": self.memory_method, "input_source": self.input_source,
            "op_profile": self.op_profile, "op_profile_note": self.op_profile_note,
        }
        if samples:
            d["samples_ms"] = self.samples_ms
        return d


@dataclass
class BenchmarkComparison:
    """All rows of one ``benchmark()`` call, the machine they ran on, and ratios to the first row."""

    results: list[BenchmarkResult]
    cpu: dict[str, Any] = field(default_factory=dict)
    warmup: int = 0
    runs: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)

    def __iter__(self):
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def __getitem__(self, i: int) -> BenchmarkResult:
        return self.results[i]

    def ratios(self) -> list[dict[str, float | None]]:
        """Per row, ``row.field / first.field`` for each of RATIO_FIELDS (None where undefined)."""
        if not self.results:
            return []
        first = self.results[0]
        out = []
        for r in self.results:
            row: dict[str, float | None] = {}
            for f in RATIO_FIELDS:
                a, b = getattr(r, f), getattr(first, f)
                row[f] = (a / b) if (a is not None and b) else None
            out.append(row)
        return out

    def to_dict(self, samples: bool = False) -> dict[str, Any]:
        return {
            "cpu": self.cpu, "warmup": self.warmup, "runs": self.runs,
            "results": [r.to_dict(samples=samples) | {"ratio_to_first": q}
                        for r, q in zip(self.results, self.ratios())],
            "skipped": self.skipped,
        }
