"""Activation ranges of a float .tflite over calibration feeds (min-max, percentile or entropy/KL)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from edgeport.compress.tflite.entropy import entropy_range
from edgeport.compress.tflite.interp import make_interpreter
from edgeport.errors import UsageError

__all__ = ["collect_ranges"]

_SAMPLE = 4096  # values kept per tensor and sample for percentile / entropy calibration


def collect_ranges(path: str | Path, feeds: list[dict[str, np.ndarray]], method: str = "minmax",
                   percentile: float = 99.99, progress: Callable[[int, int], None] | None = None,
                   exact: dict | None = None) -> dict[int, tuple[float, float]]:
    """Run the float model on every feed and return {tensor index: (min, max)} for float activations.

    ``minmax`` keeps the extremes, ``percentile`` clips at the given percentile, ``entropy`` at the
    KL-divergence optimum (see :mod:`.entropy`); the two last work on a sample of each tensor.
    ``exact`` (a dict), when given, receives the unclipped min-max ranges (int16 fallback layers use them).
    """
    if method not in ("minmax", "percentile", "entropy"):
        raise UsageError(f"calibration method {method!r} is not available for TFLite",
                         hint="use --method minmax, percentile or entropy")
    it = make_interpreter(path, preserve=True)
    idx = [d["index"] for d in it.get_tensor_details() if d["dtype"] == np.float32]
    lo: dict[int, float] = {}
    hi: dict[int, float] = {}
    samples: dict[int, list[np.ndarray]] = {i: [] for i in idx}
    rng = np.random.default_rng(0)
    inputs = it.get_input_details()
    for n, feed in enumerate(feeds):
        vals = list(feed.values())
        for i, d in enumerate(inputs):
            it.set_tensor(d["index"], np.asarray(feed.get(d["name"], vals[i]), dtype=d["dtype"]).reshape(d["shape"]))
        it.invoke()
        for i in idx:
            try:
                a = it.get_tensor(i)
            except ValueError:
                continue
            if a.size == 0:
                continue
            lo[i] = min(lo.get(i, np.inf), float(a.min()))
            hi[i] = max(hi.get(i, -np.inf), float(a.max()))
            if method != "minmax":
                flat = a.ravel()
                samples[i].append(flat if flat.size <= _SAMPLE else rng.choice(flat, _SAMPLE, replace=False))
        if progress:
            progress(n + 1, len(feeds))
    if exact is not None:
        exact.update({i: (lo[i], hi[i]) for i in lo})
    if method == "percentile":
        for i, parts in samples.items():
            if parts:
                v = np.concatenate(parts)
                lo[i] = float(np.percentile(v, 100 - percentile))
                hi[i] = float(np.percentile(v, percentile))
    elif method == "entropy":
        for i, parts in samples.items():
            if parts:
                lo[i], hi[i] = entropy_range(np.concatenate(parts), lo[i], hi[i])
    return {i: (lo[i], hi[i]) for i in lo}
