"""Calibration / evaluation data: arrays (.npz/.npy/ndarray) or a folder of images -> model feeds.

Checked before any work: empty data, a shape that cannot fit the model input, or NaN/Inf raise
:class:`~edgeport.errors.CalibrationDataError`. uint8 image data is preprocessed as the model's
metadata says (x/255, then (x - mean) / std) when the model takes floats.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from edgeport.errors import CalibrationDataError

__all__ = ["InputInfo", "load_arrays", "to_feeds", "load_calibration", "load_labels"]

_IMAGE_EXT = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".ppm", ".pgm"}


@dataclass(frozen=True)
class InputInfo:
    """What a model input needs: name, static shape (batch included), numpy dtype."""

    name: str
    shape: tuple[int, ...]
    dtype: str = "float32"


def _err(msg: str, where: Any, hint: str) -> CalibrationDataError:
    return CalibrationDataError(f"{msg}: {where}", hint=hint)


def load_arrays(source: Any, inputs: Sequence[InputInfo], *, limit: int | None = None) -> dict[str, np.ndarray]:
    """Load raw arrays for each input (leading axis = samples), plus ``__labels__`` when present."""
    if isinstance(source, np.ndarray):
        return {inputs[0].name: source}
    if isinstance(source, dict):
        return dict(source)
    p = Path(source)
    if not p.exists():
        raise _err("calibration data not found", p, "pass a folder of images, a .npz or a .npy file")
    if p.is_dir():
        return {inputs[0].name: _load_images(p, inputs[0], limit)}
    if p.suffix == ".npy":
        return {inputs[0].name: np.load(p, allow_pickle=False)}
    if p.suffix == ".npz":
        with np.load(p, allow_pickle=False) as z:
            keys = list(z.keys())
            out: dict[str, np.ndarray] = {}
            for i, spec in enumerate(inputs):
                for k in (spec.name, "x", "images", "inputs", "data") + ((keys[0],) if len(keys) == 1 else ()):
                    if k in keys:
                        out[spec.name] = z[k]
                        break
                else:
                    if i < len(keys):
                        out[spec.name] = z[[k for k in keys if k not in ("y", "labels")][i]]
                    else:
                        raise _err(f"no array for input {spec.name!r} in", p, f"store it under the key {spec.name!r} or 'x'")
            for k in ("y", "labels"):
                if k in keys:
                    out["__labels__"] = z[k]
            return out
    raise _err("unsupported calibration data", p, "pass a folder of images, a .npz or a .npy file")


def _load_images(folder: Path, spec: InputInfo, limit: int | None) -> np.ndarray:
    from PIL import Image

    files = sorted(f for f in folder.rglob("*") if f.suffix.lower() in _IMAGE_EXT)[: limit or None]
    if not files:
        raise _err("no images in calibration folder", folder, "put .png/.jpg files in it")
    layout, (h, w, c) = _hwc(spec.shape)
    imgs = []
    for f in files:
        im = Image.open(f).convert("L" if c == 1 else "RGB").resize((w, h))
        imgs.append(np.asarray(im, dtype=np.uint8).reshape(h, w, c))
    return np.stack(imgs)


def _hwc(shape: tuple[int, ...]) -> tuple[str, tuple[int, int, int]]:
    if len(shape) != 4:
        raise _err("images need a rank-4 model input, got shape", list(shape), "pass arrays (.npz) instead")
    if shape[1] in (1, 3, 4) and shape[3] not in (1, 3, 4):
        return "NCHW", (shape[2], shape[3], shape[1])
    return "NHWC", (shape[1], shape[2], shape[3])


def _fit(x: np.ndarray, spec: InputInfo, source: Any) -> np.ndarray:
    """Reshape ``x`` (samples first) to (N, *spec.shape[1:]), transposing HWC<->CHW images if needed."""
    target = tuple(spec.shape[1:])
    per = int(np.prod(target)) if target else 1
    if x.ndim == len(spec.shape) and tuple(x.shape[1:]) == target:
        return x
    if x.ndim == len(spec.shape) + 1 and x.shape[1] == 1 and tuple(x.shape[2:]) == target:
        return x[:, 0]
    if x.ndim == 4 and len(target) == 3 and sorted(x.shape[1:]) == sorted(target) and x.shape[1:] != target:
        perm = (0, 3, 1, 2) if x.shape[3] == target[0] else (0, 2, 3, 1)
        if tuple(x.transpose(perm).shape[1:]) == target:
            return x.transpose(perm)
    if x.ndim >= 1 and x[0].size == per and x.ndim >= 2:
        return x.reshape((x.shape[0],) + target)
    raise _err(f"calibration data of shape {list(x.shape)} does not fit input {spec.name!r} {list(spec.shape)} in",
               source, f"give arrays of shape [N, {', '.join(map(str, target))}]")


def to_feeds(arrays: dict[str, np.ndarray], inputs: Sequence[InputInfo], *, mean=None, std=None,
             source: Any = "data", limit: int | None = None) -> list[dict[str, np.ndarray]]:
    """Validate and split arrays into per-batch feeds matching each input's static shape."""
    feeds_per_input = []
    for spec in inputs:
        if spec.name not in arrays:
            raise _err(f"no data for input {spec.name!r} in", source, "name the arrays after the model inputs")
        x = np.asarray(arrays[spec.name])
        if x.size == 0:
            raise _err("calibration data is empty", source, "give at least one sample")
        if x.dtype.kind not in "biuf":
            raise _err(f"calibration data has dtype {x.dtype}", source, "give numeric arrays")
        x = _fit(x, spec, source)
        if limit:
            x = x[:limit]
        want = np.dtype(spec.dtype)
        if want.kind == "f":
            if x.dtype == np.uint8:
                x = _preprocess(x, spec, mean, std)
            x = x.astype(want)
            if not np.isfinite(x).all():
                raise _err("calibration data holds NaN or Inf", source, "clean the data before calibrating")
        else:
            x = x.astype(want)
        batch = spec.shape[0] if spec.shape and spec.shape[0] > 0 else 1
        n = (x.shape[0] // batch) * batch
        if n == 0:
            raise _err(f"need at least {batch} samples for input {spec.name!r} in", source, "give more samples")
        feeds_per_input.append([x[i:i + batch] for i in range(0, n, batch)])
    count = min(len(f) for f in feeds_per_input)
    return [{spec.name: f[i] for spec, f in zip(inputs, feeds_per_input)} for i in range(count)]


def _preprocess(x: np.ndarray, spec: InputInfo, mean, std) -> np.ndarray:
    y = x.astype(np.float32) / 255.0
    if mean is None and std is None:
        return y
    m = np.asarray(mean if mean is not None else 0.0, np.float32)
    s = np.asarray(std if std is not None else 1.0, np.float32)
    if m.max(initial=0) > 1.0 or s.max(initial=0) > 1.0:  # stated in 0..255 units
        m, s = m / 255.0, s / 255.0
    if m.size > 1 or s.size > 1:  # per channel: find the channel axis
        layout = "NCHW" if len(spec.shape) == 4 and spec.shape[1] == max(m.size, s.size) else "NHWC"
        shape = (1, -1, 1, 1) if layout == "NCHW" else (1, 1, 1, -1)
        m, s = m.reshape(shape) if m.size > 1 else m, s.reshape(shape) if s.size > 1 else s
    return (y - m) / s


def load_calibration(source: Any, inputs: Sequence[InputInfo], *, mean=None, std=None,
                     limit: int | None = None) -> list[dict[str, np.ndarray]]:
    """Everything at once: load, validate, preprocess, batch."""
    return to_feeds(load_arrays(source, inputs, limit=limit), inputs, mean=mean, std=std, source=source, limit=limit)


def load_labels(source: Any) -> np.ndarray | None:
    """Labels (``y``/``labels`` in a .npz, or a dict entry), or None."""
    if isinstance(source, dict):
        return source.get("y", source.get("labels", source.get("__labels__")))
    p = Path(source) if isinstance(source, (str, Path)) else None
    if p is not None and p.suffix == ".npz" and p.exists():
        with np.load(p, allow_pickle=False) as z:
            for k in ("y", "labels"):
                if k in z:
                    return z[k]
    return None
