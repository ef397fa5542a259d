"""edgeport.model: model files, format sniffing, safe verification, signature, metadata and inspection.

Public API::

    sniff_format(path) -> str            # "onnx" | "tflite" | "openvino" | "torchscript" | "pt2"
    check_file(path, fmt=None)           # pure-Python structural verification, before any native load
    open_model(path) -> ModelFile        # also edgeport.open; .inspect() -> InspectionReport
    read_metadata(path) / write_metadata(path, meta, out=None)
"""

from __future__ import annotations

from edgeport.model import onnx_fmt, openvino_fmt, tflite_fmt, torch_fmt  # noqa: F401  (register the formats)
from edgeport.model._registry import formats, register_format
from edgeport.model.modelfile import ModelFile, check_file, open_model, read_metadata, write_metadata
from edgeport.model.report import InspectionReport
from edgeport.model.sniff import sniff_format
from edgeport.model.spec import ModelMetadata, TensorSpec, guess_layout

__all__ = [
    "sniff_format", "check_file", "open_model", "read_metadata", "write_metadata", "ModelFile",
    "InspectionReport", "ModelMetadata", "TensorSpec", "guess_layout", "formats", "register_format",
]
