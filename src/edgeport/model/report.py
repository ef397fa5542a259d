"""InspectionReport: what ``edgeport inspect`` shows (signature, ops, params, MACs/FLOPs, metadata)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from edgeport.model.spec import ModelMetadata, TensorSpec

__all__ = ["InspectionReport"]


@dataclass
class InspectionReport:
    """Inspection of one model file. ``macs`` counts Conv/ConvTranspose/MatMul/Gemm/Linear (None: unknown)."""

    path: str
    format: str
    size_bytes: int
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    op_histogram: dict[str, int]
    params: int
    macs: int | None
    metadata: ModelMetadata
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def flops(self) -> int | None:
        return None if self.macs is None else 2 * self.macs

    @property
    def num_ops(self) -> int:
        return sum(self.op_histogram.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path, "format": self.format, "size_bytes": self.size_bytes,
            "inputs": [t.to_dict() for t in self.inputs], "outputs": [t.to_dict() for t in self.outputs],
            "op_histogram": dict(sorted(self.op_histogram.items(), key=lambda kv: (-kv[1], kv[0]))),
            "num_ops": self.num_ops, "params": self.params, "macs": self.macs, "flops": self.flops,
            "metadata": self.metadata.to_dict(), "details": self.details,
        }
