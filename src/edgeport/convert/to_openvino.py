"""ONNX -> OpenVINO IR (``.xml`` + ``.bin``) through ``openvino.convert_model`` and ``save_model``.

Both files are written into a temporary folder beside the destination and then renamed into
place (``.bin`` first, ``.xml`` last), so a reader never sees an ``.xml`` without its weights.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Mapping, Sequence

from edgeport.errors import BackendUnavailableError, ConversionError, ModelFormatError, UsageError

__all__ = ["onnx_to_openvino", "parse_input_shapes"]


def parse_input_shapes(spec: str | Mapping[str, Sequence[int]] | None) -> dict[str, list[int]] | None:
    """``"images:1,3,320,320;mask:1,1"`` (or a dict) -> ``{"images": [1, 3, 320, 320], ...}``."""
    if spec is None or isinstance(spec, Mapping):
        return {k: [int(d) for d in v] for k, v in spec.items()} if spec else None
    out: dict[str, list[int]] = {}
    for part in str(spec).replace(" ", "").split(";"):
        if not part:
            continue
        name, sep, dims = part.rpartition(":")
        if not sep or not name:
            raise UsageError(f"bad input shape {part!r}", hint="use NAME:D0,D1,... e.g. images:1,3,320,320")
        try:
            out[name] = [int(d) for d in dims.split(",")]
        except ValueError:
            raise UsageError(f"bad input shape {part!r}: dims must be integers",
                             hint="use NAME:D0,D1,... e.g. images:1,3,320,320") from None
    return out


def onnx_to_openvino(onnx_path: str | os.PathLike, out_xml: str | os.PathLike,
                     input_shapes: str | Mapping[str, Sequence[int]] | None = None,
                     compress_to_fp16: bool = False) -> Path:
    """Convert an ONNX file to OpenVINO IR at ``out_xml`` (``.bin`` beside it); return the ``.xml`` path.

    ``input_shapes`` pins dynamic dims (``{"images": [1, 3, 320, 320]}`` or ``"images:1,3,320,320"``);
    ``compress_to_fp16`` stores weights as fp16 (computation stays fp32 on CPU).
    """
    onnx_path, out_xml = Path(onnx_path), Path(out_xml)
    if out_xml.suffix.lower() != ".xml":
        raise UsageError(f"OpenVINO output must end in .xml: {out_xml}", hint="e.g. model.xml (model.bin is written beside it)")
    if not onnx_path.exists():
        raise ModelFormatError(f"model not found: {onnx_path}", hint="check the path")
    from edgeport.model import check_file

    check_file(onnx_path, "onnx")
    try:
        import openvino as ov
    except ImportError:
        raise BackendUnavailableError("OpenVINO is not installed",
                                      hint="pip install 'edgeport[openvino]' -c constraints.txt") from None
    shapes = parse_input_shapes(input_shapes)
    kwargs = {}
    if shapes:
        kwargs["input"] = [(name, dims) for name, dims in shapes.items()]
    try:
        model = ov.convert_model(str(onnx_path), **kwargs)
    except Exception as e:  # noqa: BLE001 - OpenVINO raises its own and generic errors
        raise ConversionError(f"OpenVINO cannot convert {onnx_path}: {_first_line(e)}",
                              hint="check the op is supported by OpenVINO, or pin dynamic dims with input_shapes") from None
    out_xml.parent.mkdir(parents=True, exist_ok=True)
    out_bin = out_xml.with_suffix(".bin")
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{out_xml.stem}.", dir=out_xml.parent))
    try:
        tmp_xml = tmp_dir / out_xml.name
        ov.save_model(model, str(tmp_xml), compress_to_fp16=compress_to_fp16)
        tmp_bin = tmp_xml.with_suffix(".bin")
        if not tmp_bin.exists():  # a model without weights still gets its (empty) .bin
            tmp_bin.write_bytes(b"")
        os.replace(tmp_bin, out_bin)
        os.replace(tmp_xml, out_xml)
    except Exception as e:  # noqa: BLE001
        raise ConversionError(f"cannot write OpenVINO IR to {out_xml}: {_first_line(e)}",
                              hint="check the folder is writable and has space") from None
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
    return out_xml


def _first_line(e: BaseException) -> str:
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    msg = lines[0] if lines else type(e).__name__
    return msg if len(msg) <= 200 else msg[:197] + "..."
