"""Benchmark inputs: random from the signature, or real from .npy / .npz / image files.

``build_feeds(specs, inputs=..., data=..., metadata=...)`` returns one feed dict
for a session. Sources, by priority for each input of the model:

1. ``inputs={name: file_or_array}`` (the CLI's ``--input NAME=FILE``);
2. ``data=`` an ``.npz`` (keys are input names; a one-input model takes its only
   array) or a folder (files named after the input, e.g. ``input.npy`` or
   ``input.png``; a one-input model takes the first supported file by name);
3. random values from the signature (``edgeport.runtime.random_inputs``, seed 0).

Images (.png/.jpg/.jpeg/.bmp/.gif/.webp) are converted to the input's channel
count, resized to its H, W (bilinear), laid out as its layout says (NCHW/NHWC,
guessed from the shape when unknown), scaled to [0, 1] for float inputs and then
normalized by the model metadata mean/std when present (mean/std above 1 are taken
to be on the 0-255 scale). uint8 inputs get the raw pixels, int8 inputs pixels - 128.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from edgeport.errors import InputMismatchError, UsageError
from edgeport.model.spec import ModelMetadata, TensorSpec, guess_layout

__all__ = ["build_feeds", "load_input_file", "image_to_tensor", "IMAGE_EXTS", "ARRAY_EXTS"]

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
ARRAY_EXTS = (".npy", ".npz")


def _safe(name: str) -> str:
    return re.sub(r"[^0-9A-Za-z_.-]", "_", name)


def _layout(spec: TensorSpec) -> str:
    layout = spec.layout or guess_layout(tuple(spec.shape))
    if layout:
        return layout
    c1 = spec.shape[1] if len(spec.shape) == 4 else None
    return "NCHW" if c1 in (1, 3, 4) else "NHWC"


def image_to_tensor(path: str | Path, spec: TensorSpec, metadata: ModelMetadata | None = None) -> np.ndarray:
    """Load an image as a tensor for ``spec`` (rank 4, NCHW or NHWC); see the module docstring."""
    from PIL import Image, UnidentifiedImageError

    if len(spec.shape) != 4:
        raise InputMismatchError(
            f"input '{spec.name}' has shape {list(spec.shape)}, not an image tensor; cannot feed {path}",
            hint="give a .npy/.npz file for this input instead of an image",
        )
    layout = _layout(spec)
    _, c, h, w = spec.shape if layout == "NCHW" else (spec.shape[0], spec.shape[3], spec.shape[1], spec.shape[2])
    c = c if isinstance(c, int) and c > 0 else 3
    mode = {1: "L", 3: "RGB", 4: "RGBA"}.get(c)
    if mode is None:
        raise InputMismatchError(f"input '{spec.name}' has {c} channels; cannot feed image {path}",
                                 hint="images need 1, 3 or 4 channels; give a .npy file instead")
    try:
        with Image.open(path) as im:
            im = im.convert(mode)
            size = (w if isinstance(w, int) and w > 0 else im.width, h if isinstance(h, int) and h > 0 else im.height)
            if im.size != size:
                im = im.resize(size, Image.BILINEAR)
            arr = np.asarray(im, dtype=np.uint8)
    except (UnidentifiedImageError, OSError) as e:
        raise UsageError(f"cannot read image {path}: {e}", hint="give a PNG/JPEG image, or a .npy file") from None
    if arr.ndim == 2:
        arr = arr[:, :, None]
    dtype = spec.np_dtype
    if dtype == np.uint8:
        x = arr
    elif dtype == np.int8:
        x = (arr.astype(np.int16) - 128).astype(np.int8)
    else:
        x = arr.astype(np.float32) / 255.0
        if metadata is not None and metadata.mean is not None and metadata.std is not None:
            mean = np.asarray(metadata.mean, dtype=np.float32).reshape(-1)
            std = np.asarray(metadata.std, dtype=np.float32).reshape(-1)
            if mean.size not in (1, c) or std.size not in (1, c):
                raise InputMismatchError(
                    f"model metadata mean/std have {mean.size}/{std.size} values but input '{spec.name}' has {c} channels",
                    hint="fix the model metadata (edgeport metadata) or feed a .npy file")
            if np.any(mean > 1.0) or np.any(std > 1.0):  # 0-255 scale
                x = arr.astype(np.float32)
            x = (x - mean) / std
        x = x.astype(dtype)
    if layout == "NCHW":
        x = np.transpose(x, (2, 0, 1))
    return np.ascontiguousarray(x[None])


def _conform(arr: np.ndarray, spec: TensorSpec, source: str, shape_known: bool = True) -> np.ndarray:
    arr = np.asarray(arr)
    if not shape_known:  # the file records no shape (TorchScript): the runtime checks what it can
        return np.ascontiguousarray(arr)
    rank = len(spec.shape)
    if rank >= 1 and arr.ndim == rank - 1 and (spec.shape[0] == 1 or not isinstance(spec.shape[0], int)):
        arr = arr[None]  # a single sample without the batch dim
    if arr.ndim != rank or any(isinstance(d, int) and d >= 0 and d != g for d, g in zip(spec.shape, arr.shape)):
        raise InputMismatchError(
            f"input '{spec.name}' expects shape {list(spec.shape)} but {source} holds {list(arr.shape)}",
            hint="give an array of the model's input shape (see `edgeport inspect MODEL`)")
    if arr.dtype != spec.np_dtype:
        if arr.dtype.kind == "f" and spec.np_dtype.kind in "iu":
            raise InputMismatchError(f"input '{spec.name}' expects {spec.dtype} but {source} holds {arr.dtype}",
                                     hint="save the array with the model's input dtype")
        arr = arr.astype(spec.np_dtype)
    return np.ascontiguousarray(arr)


def load_input_file(path: str | Path, spec: TensorSpec, metadata: ModelMetadata | None = None) -> np.ndarray:
    """Load one input from a .npy, a one-array .npz or an image file, conformed to ``spec``."""
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"input file not found: {p}", hint="check the path given to --input/--data")
    ext = p.suffix.lower()
    if ext in IMAGE_EXTS:
        return image_to_tensor(p, spec, metadata)
    if ext == ".npy":
        try:
            arr = np.load(p, allow_pickle=False)
        except (ValueError, OSError) as e:
            raise UsageError(f"cannot read {p}: {e}", hint="give a .npy written by numpy.save") from None
        return _conform(arr, spec, str(p))
    if ext == ".npz":
        with _open_npz(p) as z:
            keys = list(z.keys())
            key = spec.name if spec.name in keys else (keys[0] if len(keys) == 1 else None)
            if key is None:
                raise InputMismatchError(f"{p} has no array named '{spec.name}' (has {keys})",
                                         hint="name the arrays after the model inputs")
            return _conform(z[key], spec, f"{p}[{key}]")
    raise UsageError(f"unsupported input file {p}", hint=f"use one of {', '.join(ARRAY_EXTS + IMAGE_EXTS)}")


def _open_npz(p: Path):
    try:
        return np.load(p, allow_pickle=False)
    except (ValueError, OSError) as e:
        raise UsageError(f"cannot read {p}: {e}", hint="give a .npz written by numpy.savez") from None


def _from_data(data: Path, specs: Sequence[TensorSpec], metadata) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    if data.is_dir():
        files = sorted(f for f in data.iterdir() if f.is_file() and f.suffix.lower() in ARRAY_EXTS + IMAGE_EXTS)
        if not files:
            raise UsageError(f"no .npy/.npz/image files in {data}", hint="put one file per model input in the folder")
        for spec in specs:
            match = [f for f in files if f.stem in (spec.name, _safe(spec.name))]
            if not match and len(specs) == 1:
                match = files[:1]
            if match:
                out[spec.name] = load_input_file(match[0], spec, metadata)
        return out
    if data.is_file() and data.suffix.lower() == ".npz":
        with _open_npz(data) as z:
            keys = list(z.keys())
            for spec in specs:
                key = spec.name if spec.name in keys else (keys[0] if len(specs) == 1 and len(keys) == 1 else None)
                if key is not None:
                    out[spec.name] = _conform(z[key], spec, f"{data}[{key}]")
        return out
    if data.is_file():
        if len(specs) != 1:
            raise UsageError(f"--data {data} is one file but the model has {len(specs)} inputs",
                             hint="use an .npz with one array per input, or a folder")
        return {specs[0].name: load_input_file(data, specs[0], metadata)}
    raise UsageError(f"data not found: {data}", hint="give an .npz file, an image/.npy file, or a folder")


def build_feeds(specs: Sequence[TensorSpec], inputs: Mapping[str, Any] | None = None, data: str | Path | None = None,
                metadata: ModelMetadata | None = None, seed: int = 0,
                unknown_shapes: Sequence[str] = ()) -> dict[str, np.ndarray]:
    """Feeds for every input in ``specs``: given files/arrays first, then ``data``, then random.

    ``unknown_shapes`` names inputs whose model file records no shape (``Session.unknown_shapes``):
    arrays given for them are passed as they are.
    """
    by_name = {s.name: s for s in specs}
    feeds: dict[str, np.ndarray] = {}
    for name, src in (inputs or {}).items():
        if not name and len(specs) == 1:  # an unnamed file for a one-input model
            name = specs[0].name
        if name not in by_name:
            raise InputMismatchError(f"model has no input named '{name}' (inputs: {list(by_name)})",
                                     hint="use --input NAME=FILE with a name from `edgeport inspect MODEL`")
        spec = by_name[name]
        feeds[name] = _conform(src, spec, f"the array for '{name}'", name not in unknown_shapes) \
            if isinstance(src, np.ndarray) \
            else load_input_file(src, spec, metadata)
    rest = [s for s in specs if s.name not in feeds]
    if data is not None and rest:
        feeds.update(_from_data(Path(data), rest, metadata))
        rest = [s for s in specs if s.name not in feeds]
    if rest:
        from edgeport.runtime import random_inputs

        feeds.update(random_inputs(rest, seed=seed))
    return {s.name: feeds[s.name] for s in specs}
