"""Entropy (KL-divergence, TensorRT-style) calibration: the clipping range that loses least information.

For each activation, a histogram of the calibration values is searched for the threshold ``t`` whose
quantized distribution Q (the bins below ``t`` merged into ``levels`` buckets, then spread back over
their non-empty bins) is closest to P (the same bins, with everything beyond ``t`` folded into the last
one) in KL(P||Q). All candidate thresholds are evaluated at once with cumulative sums (no Python loop
over bins). Asymmetric int8 is handled by the shape of the data:

- one-sided tensors (ReLU outputs, all >= 0 or all <= 0): the search runs on that side and only the
  far end is clipped (zero stays exact at the zero point);
- two-sided tensors: the search runs on ``|x|`` and the range becomes ``[max(min, -t), min(max, t)]``.

The search uses 128 levels as TensorRT does, also for one-sided tensors: searching with the 256 levels they
are finally given makes the no-clipping candidate nearly free in KL terms and keeps outliers.

Exact zeros are left out of the histogram: zero is always representable, and the spike of zeros after a
ReLU would otherwise dominate bucket 0 and push the threshold far too low.
"""

from __future__ import annotations

import numpy as np

__all__ = ["kl_threshold", "entropy_range", "BINS", "LEVELS"]

BINS = 2048
LEVELS = 128
_STRIDE = 8  # candidate thresholds every _STRIDE bins (fine enough at 2048 bins, 8x less work)


def kl_threshold(hist: np.ndarray, edges: np.ndarray, levels: int = 128, stride: int = _STRIDE) -> float:
    """Upper edge of the bin range [0, i) minimizing KL(P||Q) for ``levels`` quantization buckets."""
    h = np.asarray(hist, dtype=np.float64)
    n = h.size
    if n <= levels or h.sum() == 0:
        return float(edges[-1])
    cand = np.arange(levels, n + 1, stride)
    if cand[-1] != n:
        cand = np.append(cand, n)
    k = np.arange(n)
    c = np.concatenate([[0.0], np.cumsum(h)])  # c[j] = sum h[:j]
    nz = np.concatenate([[0.0], np.cumsum(h > 0)])
    i = cand[:, None].astype(np.float64)  # (C, 1)
    inside = k[None, :] < cand[:, None]  # (C, n)
    g = np.floor(k[None, :] * levels / i)  # bucket of bin k for threshold i
    start = np.ceil(g * i / levels).astype(np.int64)
    end = np.minimum(np.ceil((g + 1) * i / levels).astype(np.int64), cand[:, None])
    start, end = np.clip(start, 0, n), np.clip(end, 0, n)
    gsum, gnz = c[end] - c[start], nz[end] - nz[start]
    q = np.where(inside & (h[None, :] > 0), gsum / np.maximum(gnz, 1), 0.0)  # Q: the kept bins only
    p = np.where(inside, h[None, :], 0.0)
    tail = c[-1] - c[cand]  # P: mass beyond the threshold folded into the last kept bin
    p[np.arange(cand.size), cand - 1] += tail
    p /= p.sum(axis=1, keepdims=True)
    q /= np.maximum(q.sum(axis=1, keepdims=True), 1e-30)
    eps = 1e-10
    q = np.where((p > 0) & (q == 0), eps, q)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.where(p > 0, p * np.log(p / q), 0.0).sum(axis=1)
    best = int(cand[int(np.argmin(kl))])
    return float(edges[best])


def _side(v: np.ndarray, amax: float, levels: int) -> float:
    if amax <= 0 or v.size == 0:
        return float(amax)
    hist, edges = np.histogram(v, bins=BINS, range=(0.0, amax))
    return min(kl_threshold(hist, edges, levels), amax)


def entropy_range(values: np.ndarray, lo: float, hi: float) -> tuple[float, float]:
    """Clipped (min, max) for ``values`` (a sample of the activation) whose exact extremes are lo, hi."""
    v = np.asarray(values, dtype=np.float32).ravel()
    v = v[v != 0]  # zero is exact in every int8 range (ReLU outputs are mostly zeros): no information to lose
    if v.size == 0 or hi <= lo:
        return float(lo), float(hi)
    if lo >= 0:
        return float(lo), _side(v, float(hi), LEVELS)
    if hi <= 0:
        return -_side(-v, float(-lo), LEVELS), float(hi)
    t = _side(np.abs(v), max(-lo, hi), LEVELS)
    return max(float(lo), -t), min(float(hi), t)
