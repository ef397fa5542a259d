"""Inputs and numbers for :mod:`edgeport.convert.verify`.

Three small jobs, kept apart from the report and the runners:

* load the user's samples (a folder of ``.npy``/``.npz``, one ``.npz`` file, or a dict),
  or draw seeded random ones from a signature;
* align two tensors whose shapes differ by a layout permutation (NCHW <-> NHWC);
* compute the error figures (max abs, max rel to the reference's range, cosine).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from edgeport.errors import CalibrationDataError
from edgeport.model.spec import TensorSpec

__all__ = [
    "Metrics",
    "compare_arrays",
    "layout_perms",
    "align_to",
    "load_samples",
    "random_feeds",
    "merge_specs",
]

_TINY = 1e-12


@dataclass(frozen=True)
class Metrics:
    """Error of ``b`` against the reference ``a``."""

    max_abs: float
    max_rel: float  # max|a-b| / (max(a)-min(a)), guarded for constant outputs
    cosine: float

    def within(self, tolerance: float) -> bool:
        return bool(self.max_rel <= tolerance)


def compare_arrays(a: np.ndarray, b: np.ndarray) -> Metrics:
    """Compare ``b`` to the reference ``a`` (same shape). NaN at the same place counts as equal."""
    a = np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"shape {b.shape} != {a.shape}")
    if a.size == 0:
        return Metrics(0.0, 0.0, 1.0)
    a64 = a.astype(np.float64) if a.dtype != np.bool_ else a.astype(np.float64)
    b64 = b.astype(np.float64) if b.dtype != np.bool_ else b.astype(np.float64)
    nan_a, nan_b = np.isnan(a64), np.isnan(b64)
    if np.any(nan_a != nan_b):
        return Metrics(float("inf"), float("inf"), 0.0)
    both = nan_a & nan_b
    if both.any():
        a64 = np.where(both, 0.0, a64)
        b64 = np.where(both, 0.0, b64)
    inf_a, inf_b = np.isinf(a64), np.isinf(b64)
    if np.any(inf_a != inf_b) or np.any(a64[inf_a] != b64[inf_b]):
        return Metrics(float("inf"), float("inf"), 0.0)
    if inf_a.any():
        a64 = np.where(inf_a, 0.0, a64)
        b64 = np.where(inf_a, 0.0, b64)
    diff = np.abs(a64 - b64)
    max_abs = float(diff.max())
    scale = float(a64.max() - a64.min())
    if not scale > _TINY:  # constant reference: relative to its magnitude (at least 1)
        scale = max(float(np.abs(a64).max()), 1.0)
    max_rel = max_abs / scale
    na, nb = float(np.linalg.norm(a64)), float(np.linalg.norm(b64))
    if na <= _TINY and nb <= _TINY:
        cosine = 1.0
    elif na <= _TINY or nb <= _TINY:
        cosine = 0.0
    else:
        cosine = float(np.clip(np.dot(a64.ravel(), b64.ravel()) / (na * nb), -1.0, 1.0))
    return Metrics(max_abs, max_rel, cosine)


def layout_perms(rank: int) -> list[tuple[tuple[int, ...], str]]:
    """Permutations mapping channels-first to channels-last (and back) for a rank, with a label.

    Each entry ``(perm, label)`` means ``x.transpose(perm)`` turns the *other* layout into this one.
    """
    if rank < 3:
        return []
    first = (0, *range(2, rank), 1)  # NCHW -> NHWC
    last = (0, rank - 1, *range(1, rank - 1))  # NHWC -> NCHW
    cf, cl = _layout_names(rank)
    return [(first, f"{cf}->{cl}"), (last, f"{cl}->{cf}")]


def _layout_names(rank: int) -> tuple[str, str]:
    spatial = {3: "W", 4: "HW", 5: "DHW"}.get(rank, "S" * (rank - 2))
    return f"NC{spatial}", f"N{spatial}C"


def align_to(ref_shape: Sequence[int], x: np.ndarray) -> list[tuple[np.ndarray, str | None]]:
    """Ways of viewing ``x`` in the shape ``ref_shape``: as is, or transposed by a layout permutation.

    Returns candidates, best first: ``[(array, note)]`` where note is None when no transpose was
    needed, else e.g. ``"NHWC->NCHW"``. Empty when no candidate fits. Ranks may differ by unit dims
    (a Conv1d lifted to 2-D: [N, 1, L, C] stored for a logical [N, C, L]): a permuted view whose shape
    equals ``ref_shape`` up to dims of size 1 is reshaped to it ("NHWC->NCHW+reshaped").
    """
    ref_shape = tuple(ref_shape)
    size = int(np.prod(ref_shape, dtype=np.int64))
    squeezed = tuple(d for d in ref_shape if d != 1)
    out: list[tuple[np.ndarray, str | None]] = []
    if tuple(x.shape) == ref_shape:
        out.append((x, None))
    elif x.size == size and x.ndim != len(ref_shape):
        # e.g. a squeezed/expanded batch dim: same data, same order
        out.append((x.reshape(ref_shape), "reshaped"))
    if x.size != size:
        return out
    views = [(x.transpose(perm), label) for perm, label in layout_perms(x.ndim)]
    for y, label in views:  # channels-last [N, L, C] of a logical [N, C, L] needs (0, 2, 1), not a reshape
        if tuple(y.shape) == ref_shape:
            out.append((y, label))
    for y, label in views:
        if tuple(y.shape) != ref_shape and tuple(d for d in y.shape if d != 1) == squeezed:
            out.append((np.ascontiguousarray(y).reshape(ref_shape), f"{label}+reshaped"))
    return out


def merge_specs(specs_a: Sequence[TensorSpec], specs_b: Sequence[TensorSpec] | None) -> list[TensorSpec]:
    """Specs of ``a`` with dynamic dims filled from ``b`` where ``b`` has them static (matched by name or order)."""
    if not specs_b:
        return list(specs_a)
    by_name = {s.name: s for s in specs_b}
    merged = []
    for i, sa in enumerate(specs_a):
        sb = by_name.get(sa.name) or (specs_b[i] if len(specs_b) == len(specs_a) else None)
        shape = list(sa.shape)
        if sb is not None and len(sb.shape) == len(shape):
            cands = [tuple(range(len(shape)))] + [p for p, _ in layout_perms(len(shape))]
            for perm in cands:  # b.transpose(perm) would be in a's layout
                bs = [sb.shape[p] for p in perm]
                if all(not _static(d) or not _static(e) or d == e for d, e in zip(shape, bs)):
                    shape = [e if not _static(d) and _static(e) else d for d, e in zip(shape, bs)]
                    break
        merged.append(TensorSpec(sa.name, tuple(shape), sa.dtype, sa.layout))
    return merged


def _static(d: Any) -> bool:
    return isinstance(d, (int, np.integer)) and d >= 0


def random_feeds(specs: Sequence[TensorSpec], seed: int = 0) -> dict[str, np.ndarray]:
    """Seeded inputs for a signature (dynamic dims -> 1): floats ~ N(0, 1), ints in [0, 4), bools 50/50."""
    rng = np.random.default_rng(seed)
    feeds = {}
    for s in specs:
        shape = tuple(int(d) if _static(d) else 1 for d in s.shape)
        dt = np.dtype(s.dtype)
        if dt.kind == "f":
            arr = rng.standard_normal(shape).astype(dt)
        elif dt.kind in "iu":
            arr = rng.integers(0, 4, size=shape).astype(dt)
        elif dt.kind == "b":
            arr = rng.random(shape) < 0.5
        else:
            raise CalibrationDataError(f"cannot draw random data for input {s.name!r} of dtype {dt}",
                                       hint="pass --data with a .npz holding that input")
        feeds[s.name] = arr
    return feeds


def load_samples(data: Any, specs: Sequence[TensorSpec]) -> list[dict[str, np.ndarray]]:
    """Read the user's samples: a dict, a list of dicts, a ``.npz``/``.npy`` file, or a folder of them.

    A folder holding ``.npy`` files is one sample, each file named after an input (``images.npy``);
    a folder holding ``.npz`` files is one sample per file. A single-input model takes any one array.
    """
    names = [s.name for s in specs]
    if isinstance(data, Mapping):
        return [_check_sample(dict(data), names, "the data dict")]
    if isinstance(data, (list, tuple)) and data and all(isinstance(d, Mapping) for d in data):
        return [_check_sample(dict(d), names, f"sample {i}") for i, d in enumerate(data)]
    if isinstance(data, np.ndarray):
        return [_check_sample({names[0] if names else "input": data}, names, "the data array")]
    if not isinstance(data, (str, os.PathLike)):
        raise CalibrationDataError(f"unsupported data of type {type(data).__name__}",
                                   hint="pass a folder of .npy/.npz files, a .npz file, or a dict name -> array")
    path = Path(data)
    if not path.exists():
        raise CalibrationDataError(f"data not found: {path}", hint="pass an existing folder or .npz/.npy file")
    if path.is_dir():
        npz = sorted(path.glob("*.npz"))
        npy = sorted(path.glob("*.npy"))
        if npz:
            return [_check_sample(_read_npz(p), names, str(p)) for p in npz]
        if npy:
            sample = {p.stem: _read_npy(p) for p in npy}
            if len(names) == 1 and names[0] not in sample and len(sample) == 1:
                sample = {names[0]: next(iter(sample.values()))}
            return [_check_sample(sample, names, str(path))]
        raise CalibrationDataError(f"no .npy or .npz files in {path}",
                                   hint="save inputs with numpy.save(<input name>.npy) or numpy.savez")
    if path.suffix == ".npz":
        return [_check_sample(_read_npz(path), names, str(path))]
    if path.suffix == ".npy":
        arr = _read_npy(path)
        key = path.stem if path.stem in names or len(names) != 1 else names[0]
        return [_check_sample({key: arr}, names, str(path))]
    raise CalibrationDataError(f"unsupported data file {path.name}", hint="use .npy or .npz files")


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: np.asarray(z[k]) for k in z.files}
    except Exception as e:
        raise CalibrationDataError(f"cannot read {path}: {e}", hint="write it with numpy.savez") from None


def _read_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except Exception as e:
        raise CalibrationDataError(f"cannot read {path}: {e}", hint="write it with numpy.save") from None


def _check_sample(sample: dict[str, Any], names: list[str], where: str) -> dict[str, np.ndarray]:
    if len(names) == 1 and names[0] not in sample and len(sample) == 1:
        sample = {names[0]: next(iter(sample.values()))}
    missing = [n for n in names if n not in sample]
    if missing:
        raise CalibrationDataError(f"{where} lacks input(s) {', '.join(missing)} (has {', '.join(sample) or 'none'})",
                                   hint="name each array after a model input")
    out = {}
    for n in names:
        arr = np.asarray(sample[n])
        if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
            raise CalibrationDataError(f"{where}: input {n!r} holds NaN or Inf", hint="clean the data")
        out[n] = arr
    return out
