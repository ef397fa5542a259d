"""Model facts the compressor needs: format, inputs (static shapes), normalization metadata, size.

Goes through :mod:`edgeport.model` (contract: sniff_format, check_file, read_metadata); falls back to the
file extension / onnx protobuf / LiteRT details when a helper is unavailable.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from edgeport.compress.calibration import InputInfo
from edgeport.errors import ModelFormatError, UsageError

__all__ = ["model_format", "output_format", "model_inputs", "model_norm", "model_size", "check", "FORMATS"]

FORMATS = {".onnx": "onnx", ".tflite": "tflite", ".xml": "openvino"}


def model_format(path: str | os.PathLike) -> str:
    p = Path(path)
    if not p.is_file():
        raise ModelFormatError(f"model not found: {p}", hint="check the path")
    from edgeport.model import sniff_format

    return sniff_format(str(p))


def output_format(path: str | os.PathLike) -> str:
    ext = Path(path).suffix.lower()
    if ext not in FORMATS:
        raise UsageError(f"cannot tell the output format from {path}", hint="end the output with .tflite, .onnx or .xml")
    return FORMATS[ext]


def check(path: str | os.PathLike, fmt: str) -> None:
    """Structural check before any native load (edgeport.model.check_file)."""
    try:
        from edgeport.model import check_file
    except ImportError:
        return
    check_file(str(path), fmt)


def model_inputs(path: str | os.PathLike, fmt: str) -> list[InputInfo]:
    """Inputs with dynamic dims pinned to 1."""
    check(path, fmt)
    if fmt == "onnx":
        import onnx

        m = onnx.load(str(path), load_external_data=False)
        inits = {i.name for i in m.graph.initializer}
        out = []
        for vi in m.graph.input:
            if vi.name in inits:
                continue
            tt = vi.type.tensor_type
            shape = tuple(d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else 1 for d in tt.shape.dim)
            out.append(InputInfo(vi.name, shape, np.dtype(onnx.helper.tensor_dtype_to_np_dtype(tt.elem_type)).name))
        return out
    if fmt == "tflite":
        from edgeport.compress.tflite.interp import make_interpreter

        it = make_interpreter(path, delegates=False)
        return [InputInfo(d["name"], tuple(int(s) for s in d["shape"]), np.dtype(d["dtype"]).name)
                for d in it.get_input_details()]
    if fmt == "openvino":
        import openvino as ov

        m = ov.Core().read_model(str(path))
        out = []
        for p in m.inputs:
            ps = p.get_partial_shape()
            shape = tuple(d.get_length() if d.is_static else 1 for d in ps)
            out.append(InputInfo(p.get_any_name(), shape, p.get_element_type().to_dtype().name))
        return out
    raise UsageError(f"cannot compress {fmt} models here", hint="use an .onnx, .tflite or OpenVINO .xml model")


def model_norm(path: str | os.PathLike) -> tuple[list[float] | None, list[float] | None]:
    """(mean, std) from the model's edgeport metadata, or (None, None)."""
    try:
        from edgeport.model import read_metadata

        meta = read_metadata(str(path))
        return meta.mean, meta.std
    except Exception:  # metadata is optional; any failure means "none"
        return None, None


def model_size(path: str | os.PathLike) -> int:
    p = Path(path)
    size = p.stat().st_size
    if p.suffix.lower() == ".xml" and p.with_suffix(".bin").exists():
        size += p.with_suffix(".bin").stat().st_size
    return size
