"""Quantization arithmetic (TFLite int8/int16 spec): scales, zero points, weight and bias quantization."""

from __future__ import annotations

import numpy as np

__all__ = ["act_params", "quantize_weights", "quantize_bias", "QRANGE"]

QRANGE = {"int8": (-128, 127), "int16": (-32768, 32767)}


def act_params(rmin: float, rmax: float, bits: str = "int8") -> tuple[float, int]:
    """Asymmetric int8 (or symmetric int16, zp 0) parameters covering [rmin, rmax] and 0."""
    rmin, rmax = min(float(rmin), 0.0), max(float(rmax), 0.0)
    if bits == "int16":
        scale = max(abs(rmin), abs(rmax)) / 32767.0
        return (scale if scale > 0 else 1.0 / 32768), 0
    qmin, qmax = QRANGE["int8"]
    scale = (rmax - rmin) / (qmax - qmin)
    if scale <= 0:
        return 1.0 / 256, 0
    zp = int(np.clip(round(qmin - rmin / scale), qmin, qmax))
    return float(scale), zp


def quantize_weights(w: np.ndarray, axis: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 weights (zp 0, range [-127, 127]); per channel along ``axis`` or per tensor."""
    w = np.asarray(w, dtype=np.float32)
    if axis is None:
        amax = np.array([np.abs(w).max()], dtype=np.float32)
        shaped = amax.reshape([1] * w.ndim) if w.ndim else amax[0]
    else:
        red = tuple(i for i in range(w.ndim) if i != axis)
        amax = np.abs(w).max(axis=red).astype(np.float32)
        shape = [1] * w.ndim
        shape[axis] = -1
        shaped = amax.reshape(shape)
    scale = np.where(amax > 0, amax / 127.0, 1e-8).astype(np.float32)
    sshaped = np.where(shaped > 0, shaped / 127.0, 1e-8)
    q = np.clip(np.round(w / sshaped), -127, 127).astype(np.int8)
    return q, scale


def quantize_bias(b: np.ndarray, in_scale: float, w_scale: np.ndarray, dtype=np.int32) -> tuple[np.ndarray, np.ndarray]:
    """Bias with scale in_scale * w_scale, zp 0 (int32 for int8 activations, int64 for int16)."""
    scale = (float(in_scale) * np.asarray(w_scale, dtype=np.float64))
    info = np.iinfo(dtype)
    q = np.clip(np.round(np.asarray(b, dtype=np.float64) / scale), info.min, info.max).astype(dtype)
    return q, scale.astype(np.float32)
