"""Format sniffing from content (magic bytes, zip members, XML root); the extension only breaks ties."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from edgeport.errors import ModelFormatError

__all__ = ["sniff_format", "EXTENSIONS"]

EXTENSIONS = {".onnx": "onnx", ".tflite": "tflite", ".xml": "openvino", ".pt": "torchscript",
              ".pth": "torchscript", ".ptl": "torchscript", ".pt2": "pt2"}
# first bytes of an ONNX ModelProto: the tag of field 1..8 or 14 (ir_version, producer, graph, opset, ...)
_ONNX_FIRST = {0x08, 0x12, 0x1A, 0x22, 0x28, 0x32, 0x3A, 0x42, 0x72}
_HINT = "edgeport reads .onnx, .tflite, OpenVINO .xml (+ .bin), TorchScript .pt and torch.export .pt2 files"


def _looks_xml(head: bytes) -> bool:
    h = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return h.startswith(b"<?xml") or h.startswith(b"<net") or h.startswith(b"<!--")


def sniff_format(path: str | os.PathLike) -> str:
    """Return "onnx", "tflite", "openvino", "torchscript" or "pt2"; raise ModelFormatError otherwise."""
    p = Path(path)
    if not p.exists():
        raise ModelFormatError(f"{p}: no such file", hint="check the path")
    if p.is_dir():
        raise ModelFormatError(f"{p}: is a folder, not a model file",
                               hint="pass the model file itself (for OpenVINO IR, the .xml)")
    try:
        with open(p, "rb") as f:
            head = f.read(4096)
    except OSError as e:
        raise ModelFormatError(f"{p}: cannot read ({e.strerror})", hint="check the file permissions") from None
    ext = EXTENSIONS.get(p.suffix.lower())
    if not head:
        raise ModelFormatError(f"{p}: the file is empty", hint="re-export or re-download the model")
    if p.suffix.lower() == ".bin" and p.with_suffix(".xml").is_file():
        raise ModelFormatError(f"{p}: this is the weights file of an OpenVINO IR",
                               hint=f"pass {p.with_suffix('.xml').name} (the .bin is read from beside it)")
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        from edgeport.model.torch_fmt import zip_kind

        try:
            with zipfile.ZipFile(p) as z:
                kind = zip_kind(z.namelist())
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, UnicodeDecodeError, NotImplementedError) as e:
            raise ModelFormatError(f"{p}: corrupted or truncated zip archive ({e})",
                                   hint="re-save the model with torch.jit.save or torch.export.save") from None
        if kind == "pickle":
            raise ModelFormatError(f"{p}: this is a plain torch.save checkpoint (pickled weights), not a model",
                                   hint="export it with torch.jit.save(torch.jit.trace(model, x), ...) "
                                        "or torch.export.save(torch.export.export(model, (x,)), ...)")
        if kind is None:
            raise ModelFormatError(f"{p}: a zip archive that is not a PyTorch model", hint=_HINT)
        return kind
    if len(head) >= 8 and head[4:8] == b"TFL3":
        return "tflite"
    if _looks_xml(head):
        return "openvino"
    if head[0] in _ONNX_FIRST and ext in (None, "onnx"):
        return "onnx"
    if head[:1] == b"\x80" and ext in ("torchscript", "pt2"):
        raise ModelFormatError(f"{p}: a pickle file (legacy torch.save), not a runnable model",
                               hint="export it with torch.jit.save(torch.jit.trace(model, x), ...) "
                                    "or torch.export.save(torch.export.export(model, (x,)), ...)")
    if ext is not None:
        what = {"onnx": "an ONNX protobuf", "tflite": "a TFLite FlatBuffer (no 'TFL3' identifier)",
                "openvino": "an OpenVINO IR XML", "torchscript": "a TorchScript zip archive",
                "pt2": "a torch.export zip archive"}[ext]
        raise ModelFormatError(f"{p}: has a {p.suffix} extension but its content is not {what}",
                               hint="the file is truncated, corrupted or not a model; re-export it")
    raise ModelFormatError(f"{p}: unknown model format (extension {p.suffix or 'none'!r}, "
                           f"first bytes {head[:8].hex()})", hint=_HINT)
