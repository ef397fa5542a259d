"""PyTorch frontend: an ``nn.Module`` (or a ``.pt2`` file) to ONNX.

The road is ``torch.export`` -> ``torch.onnx.export(dynamo=True)`` (onnxscript); if the dynamo
exporter fails, the TorchScript exporter (``dynamo=False``) is tried and the report notes why.
The ONNX file is written atomically. Failures become :class:`~edgeport.errors.ConversionError`
naming the op or reason.

``litert_torch_available()`` / ``require_litert_torch()`` tell whether Google's litert-torch
(formerly ai-edge-torch) is importable, for users who ask for that route; edgeport never installs it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from edgeport._fileio import atomic_path
from edgeport.errors import BackendUnavailableError, ConversionError, ModelFormatError, UsageError

__all__ = ["torch_to_onnx", "TorchExportResult", "load_pt2", "litert_torch_available", "require_litert_torch"]

_DEFAULT_OPSET = 18


@dataclass
class TorchExportResult:
    """What :func:`torch_to_onnx` did: the file, the exporter that succeeded, and notes."""

    path: Path
    exporter: str  # "dynamo" or "torchscript"
    opset: int
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "exporter": self.exporter, "opset": self.opset, "notes": self.notes}


def load_pt2(path: str | os.PathLike):
    """Load a ``torch.export.save`` archive and return ``(ExportedProgram, example_inputs or None)``."""
    import torch

    path = Path(path)
    if not path.exists():
        raise ModelFormatError(f"model not found: {path}", hint="check the path")
    from edgeport.model import check_file

    check_file(path, "pt2")
    try:
        ep = torch.export.load(str(path))
    except Exception as e:  # noqa: BLE001 - torch raises many types for bad archives
        raise ModelFormatError(f"cannot load {path} as a torch.export program: {_first_line(e)}",
                               hint="save it with torch.export.save(torch.export.export(model, args), path)") from None
    example = getattr(ep, "example_inputs", None)
    args = example[0] if isinstance(example, tuple) and example else None
    return ep, args


def torch_to_onnx(model: Any, example_inputs: Any, out_path: str | os.PathLike, dynamo: bool = True,
                  opset: int | None = None, input_names: Sequence[str] | None = None,
                  output_names: Sequence[str] | None = None, dynamic_shapes: Any = None) -> TorchExportResult:
    """Export ``model`` (an ``nn.Module`` or a ``.pt2`` path) to ONNX at ``out_path``.

    ``example_inputs``: a tensor or a tuple of tensors (may be None for a ``.pt2`` that stored them).
    ``dynamic_shapes``: as for ``torch.export`` (dynamo exporter); for the TorchScript fallback it is
    turned into ``dynamic_axes`` where it is a dict ``{input_name: {axis: name}}``.
    """
    import torch

    out_path = Path(out_path)
    notes: list[str] = []
    if isinstance(model, (str, os.PathLike)):
        model, stored = load_pt2(model)
        if example_inputs is None:
            example_inputs = stored
    if not isinstance(model, (torch.nn.Module, torch.export.ExportedProgram)):
        raise UsageError(f"expected a torch.nn.Module or a .pt2 path, got {type(model).__name__}",
                         hint="pass the model object or torch.export.save's file")
    if example_inputs is None:
        raise UsageError("example_inputs are required to export a PyTorch model",
                         hint="pass example_inputs=(torch.randn(1, 3, 224, 224),)")
    args = tuple(example_inputs) if isinstance(example_inputs, (tuple, list)) else (example_inputs,)
    if isinstance(model, torch.nn.Module):
        with contextlib.suppress(NotImplementedError):  # exported modules refuse eval()
            model.eval()
    opset = opset or _DEFAULT_OPSET
    input_names = list(input_names) if input_names else None
    output_names = list(output_names) if output_names else None

    errors: list[str] = []
    if dynamo:
        try:
            _export(model, args, out_path, True, opset, input_names, output_names, dynamic_shapes)
            return TorchExportResult(out_path, "dynamo", opset, notes)
        except ConversionError:
            raise
        except Exception as e:  # noqa: BLE001 - exporter failures come in many types
            reason = _reason(e)
            errors.append(f"dynamo: {reason}")
            notes.append(f"dynamo exporter failed ({reason}); fell back to the TorchScript exporter")
    if isinstance(model, torch.export.ExportedProgram):
        model = model.module()
    try:
        _export(model, args, out_path, False, opset, input_names, output_names, dynamic_shapes)
    except Exception as e:  # noqa: BLE001
        errors.append(f"torchscript: {_reason(e)}")
        raise ConversionError(f"cannot export {_model_name(model)} to ONNX: {'; '.join(errors)}",
                              hint="rewrite or remove that op, or try another opset (opset=)") from None
    return TorchExportResult(out_path, "torchscript", opset, notes)


def _model_name(model) -> str:
    return type(model).__name__


def _export(model, args, out_path: Path, dynamo: bool, opset: int, input_names, output_names, dynamic_shapes) -> None:
    import torch

    kwargs: dict[str, Any] = {"opset_version": opset, "dynamo": dynamo}
    if input_names:
        kwargs["input_names"] = input_names
    if output_names:
        kwargs["output_names"] = output_names
    if dynamic_shapes is not None:
        if dynamo:
            kwargs["dynamic_shapes"] = dynamic_shapes
        elif isinstance(dynamic_shapes, dict):
            kwargs["dynamic_axes"] = {k: v for k, v in dynamic_shapes.items() if isinstance(v, (dict, list))}
    if dynamo:
        kwargs["verbose"] = False
        kwargs["report"] = False
    sink = io.StringIO()
    with atomic_path(out_path, suffix=".onnx") as tmp, contextlib.redirect_stdout(sink), _quiet_exporter_logs():
        if dynamo:
            program = torch.onnx.export(model, args, **kwargs)
            if program is None:
                raise ConversionError("the dynamo exporter returned nothing", hint="update torch/onnxscript")
            # one self-contained file (no external data below 2 GB)
            program.save(str(tmp), external_data=_too_big(program))
        else:
            torch.onnx.export(model, args, str(tmp), **kwargs)
        _check_onnx(tmp)


@contextlib.contextmanager
def _quiet_exporter_logs():
    """Hide the exporter's "torchvision is not installed. Skipping torchvision::nms" warnings (noise for users)."""
    import logging

    log = logging.getLogger("torch.onnx._internal.exporter._registration")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


def _too_big(program) -> bool:
    try:
        return sum(t.nbytes for t in program.model.graph.initializers.values()) > 1_800_000_000
    except Exception:  # noqa: BLE001
        return False


def _check_onnx(path: Path) -> None:
    import onnx

    onnx.checker.check_model(str(path))


_OP_PATTERNS = [
    re.compile(r"(aten::[A-Za-z0-9_.]+|aten\.[A-Za-z0-9_.]+|torch\.ops\.[A-Za-z0-9_.]+)"),
    re.compile(r"operator '?([A-Za-z0-9_:.]+)'? (?:is not|not) supported", re.I),
]


def _reason(e: BaseException) -> str:
    text = f"{type(e).__name__}: {e}"
    for pat in _OP_PATTERNS:
        m = pat.search(text)
        if m:
            return f"unsupported op {m.group(1)} ({_first_line(e)})"
    return _first_line(e)


def _first_line(e: BaseException) -> str:
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    msg = lines[0] if lines else type(e).__name__
    return msg if len(msg) <= 200 else msg[:197] + "..."


def litert_torch_available() -> bool:
    """Whether Google's litert-torch (``litert_torch``) or ai-edge-torch (``ai_edge_torch``) is importable."""
    return any(importlib.util.find_spec(m) is not None for m in ("litert_torch", "ai_edge_torch"))


def require_litert_torch():
    """Import and return litert-torch (or ai-edge-torch), else raise BackendUnavailableError."""
    for name in ("litert_torch", "ai_edge_torch"):
        if importlib.util.find_spec(name) is not None:
            return importlib.import_module(name)
    raise BackendUnavailableError(
        "litert-torch is not installed (neither litert_torch nor ai_edge_torch can be imported)",
        hint="pip install litert-torch -c constraints.txt in its own environment (it pins its own torch), "
             "or use edgeport's own route: torch -> ONNX -> TFLite")
