"""ModelFile and the public entry points: check_file, open_model, read_metadata, write_metadata."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgeport.errors import EdgeportError, ModelFormatError
from edgeport.model._registry import Loaded, get_handler
from edgeport.model.report import InspectionReport
from edgeport.model.sniff import sniff_format
from edgeport.model.spec import ModelMetadata, TensorSpec

__all__ = ["ModelFile", "check_file", "open_model", "read_metadata", "write_metadata"]


def _guard(path: Path, fmt: str, fn, *args):
    """Run a handler call; anything but an EdgeportError becomes a ModelFormatError (never a crash)."""
    try:
        return fn(*args)
    except EdgeportError:
        raise
    except (KeyboardInterrupt, SystemExit):
        raise
    except RecursionError:
        raise ModelFormatError(f"{path}: the {fmt} model is nested too deeply to read",
                               hint="the file is corrupted or malicious; re-export it") from None
    except Exception as e:
        msg = " ".join(str(e).split())[:160]
        raise ModelFormatError(f"{path}: cannot read this {fmt} model ({type(e).__name__}: {msg})",
                               hint="the file is corrupted or was written by an unsupported exporter; re-export it") from None


def _resolve(path, fmt: str | None) -> tuple[Path, str]:
    p = Path(path)
    sniffed = sniff_format(p)
    if fmt is not None and fmt != sniffed:
        get_handler(fmt)  # unknown fmt name -> ModelFormatError listing the known ones
        raise ModelFormatError(f"{p}: expected a {fmt} model but the content is {sniffed}",
                               hint=f"pass a {fmt} file, or omit the format to use {sniffed}")
    return p, sniffed


def check_file(path: str | os.PathLike, fmt: str | None = None) -> None:
    """Verify the file's structure in pure Python (no native runtime code); raise ModelFormatError if bad.

    Every native load in edgeport calls this first: a file that passes cannot make the
    native parser read out of bounds (TFLite offsets, OpenVINO .bin sizes, zip members).
    """
    p, fmt = _resolve(path, fmt)
    _guard(p, fmt, get_handler(fmt).check, p)


@dataclass
class ModelFile:
    """An opened model: format, signature and metadata; :meth:`inspect` adds ops, params and MACs."""

    path: Path
    format: str
    size_bytes: int
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    metadata: ModelMetadata
    _loaded: Loaded | None = field(default=None, repr=False, compare=False)

    def inspect(self) -> InspectionReport:
        ins = _guard(self.path, self.format, self._loaded.inspect)
        if ins.macs is not None and not all(t.is_static for t in self.inputs):
            ins.details.setdefault("macs_note", "dynamic dims counted as 1")
        return InspectionReport(str(self.path), self.format, self.size_bytes, self.inputs, self.outputs,
                                ins.op_histogram, ins.params, ins.macs, self.metadata, ins.details)

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "format": self.format, "size_bytes": self.size_bytes,
                "inputs": [t.to_dict() for t in self.inputs], "outputs": [t.to_dict() for t in self.outputs],
                "metadata": self.metadata.to_dict()}


def _total_size(p: Path, fmt: str) -> int:
    size = p.stat().st_size
    if fmt == "openvino" and p.with_suffix(".bin").is_file():
        size += p.with_suffix(".bin").stat().st_size
    return size


def open_model(path: str | os.PathLike, fmt: str | None = None) -> ModelFile:
    """Open a model file: sniff, verify, parse signature and metadata (also ``edgeport.open``)."""
    p, fmt = _resolve(path, fmt)
    handler = get_handler(fmt)
    _guard(p, fmt, handler.check, p)
    loaded = _guard(p, fmt, handler.load, p)
    return ModelFile(p, fmt, _total_size(p, fmt), loaded.inputs, loaded.outputs, loaded.metadata, loaded)


def read_metadata(path: str | os.PathLike) -> ModelMetadata:
    """Read the edgeport metadata embedded in a model (empty when there is none)."""
    p, fmt = _resolve(path, None)
    return _guard(p, fmt, get_handler(fmt).read_metadata, p)


def write_metadata(path: str | os.PathLike, meta: ModelMetadata, out: str | os.PathLike | None = None) -> Path:
    """Embed ``meta`` in the model (in place, or into ``out``), atomically; return the written path."""
    p, fmt = _resolve(path, None)
    dest = Path(out) if out is not None else p
    if dest.suffix.lower() != p.suffix.lower():
        raise ModelFormatError(f"{dest}: the output must keep the {p.suffix} extension of {p.name}",
                               hint=f"name the output *{p.suffix}")
    handler = get_handler(fmt)
    _guard(p, fmt, handler.check, p)
    _guard(p, fmt, handler.write_metadata, p, meta, dest)
    return dest
