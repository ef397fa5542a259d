"""edgeport.runtime: one runtime over ONNX Runtime, LiteRT, OpenVINO and PyTorch.

::

    sess = edgeport.runtime.load("model.onnx", accelerator="gpu", threads=2)
    outs = sess.run({"input": x})          # dict name -> np.ndarray
    sess.fallbacks                         # [Fallback(requested="gpu", reason=..., ops=...)]

The backend follows the model format unless one is named (ONNX also runs on OpenVINO;
OpenVINO also reads .onnx and .tflite; torch runs .pt2 and TorchScript .pt).

Accelerators: ``"auto"`` (default) picks the best one present and, if it cannot take the
model, falls back to the CPU quietly but recorded in ``Session.fallbacks`` (and a log line);
a named one (``"gpu"``, ``"npu"``, ``"cuda"``, ``"tensorrt"``, ``"cpu"``) that is missing or
rejects part of the graph falls back with a ``RuntimeWarning`` and a Fallback record, or raises
:class:`~edgeport.errors.BackendUnavailableError` when ``strict=True``.
"""

from __future__ import annotations

from pathlib import Path

from edgeport.errors import BackendUnavailableError, ModelFormatError, UsageError
from edgeport.runtime.base import (
    ACCELERATORS,
    Fallback,
    Session,
    available_backends,
    backend_class,
    backend_status,
    backends_for_format,
    random_inputs,
)

__all__ = [
    "load",
    "Session",
    "Fallback",
    "available_backends",
    "backend_status",
    "backends_for_format",
    "random_inputs",
    "ACCELERATORS",
]


def load(path, backend: str | None = None, accelerator: str = "auto", threads: int | None = None,
         strict: bool = False) -> Session:
    """Load a model for inference and return a :class:`Session`.

    path: .onnx, .tflite, OpenVINO .xml (with its .bin), .pt2 (torch.export) or TorchScript .pt.
    backend: None (follow the format) | "onnxruntime" | "litert" | "openvino" | "torch".
    accelerator: "auto" | "cpu" | "gpu" | "npu" | "cuda" | "tensorrt" (see the module docstring).
    threads: CPU threads for the backend (None: the backend's default).
    strict: raise BackendUnavailableError instead of falling back from a named accelerator.

    The file is verified by :func:`edgeport.model.check_file` before any native code reads it.
    """
    p = Path(path)
    if p.is_dir():
        from edgeport.model import sniff_format

        sniff_format(p)  # raises the model layer's "is a folder" error (with the OpenVINO .xml hint)
    if not p.is_file():
        raise ModelFormatError(f"model file not found: {p}", hint="check the path")
    if accelerator not in ACCELERATORS:
        raise UsageError(f"unknown accelerator {accelerator!r}", hint=f"choose one of: {', '.join(ACCELERATORS)}")
    if threads is not None and (not isinstance(threads, int) or threads < 1):
        raise UsageError(f"threads must be a positive integer, got {threads!r}", hint="e.g. threads=2")

    from edgeport.model import check_file, sniff_format

    fmt = sniff_format(p)
    if backend is None:
        names = backends_for_format(fmt)
        if not names:
            status = backend_status()
            why = "; ".join(f"{n}: {r}" for n, r in status.items() if r and fmt in backend_class(n).formats)
            raise BackendUnavailableError(f"no installed backend can run {fmt} model {p}"
                                          + (f" ({why})" if why else ""),
                                          hint="install the runtime, e.g. pip install 'edgeport[openvino,torch]'")
        backend = names[0]
    cls = backend_class(backend)
    if fmt not in cls.formats:
        raise UsageError(f"backend {backend!r} cannot read {fmt} model {p}",
                         hint=f"use one of: {', '.join(backends_for_format(fmt)) or 'none installed'}")
    why = cls.probe()
    if why is not None:
        raise BackendUnavailableError(f"backend {backend!r} is not usable here: {why}",
                                      hint="install it, or pick another backend")
    check_file(p, fmt)
    return cls(p, fmt, accelerator=accelerator, threads=threads, strict=strict)
