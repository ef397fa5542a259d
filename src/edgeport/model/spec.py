"""Data that crosses layers: tensor specs and model metadata."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

__all__ = ["TensorSpec", "ModelMetadata", "guess_layout"]

Dim = int | str  # an int, or a name for a dynamic dim


@dataclass(frozen=True)
class TensorSpec:
    """One input or output: name, shape (ints or names of dynamic dims), numpy dtype name, layout guess."""

    name: str
    shape: tuple[Dim, ...]
    dtype: str
    layout: str | None = None  # "NCHW", "NHWC", or None when it is not an image-like tensor

    @property
    def np_dtype(self) -> np.dtype:
        return np.dtype(self.dtype)

    @property
    def is_static(self) -> bool:
        return all(isinstance(d, int) and d >= 0 for d in self.shape)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"shape": list(self.shape)}


def guess_layout(shape: tuple[Dim, ...]) -> str | None:
    """Guess NCHW/NHWC for a rank-4 tensor from where the small channel dim sits."""
    if len(shape) != 4:
        return None
    c1, c_last = shape[1], shape[3]
    small = lambda d: isinstance(d, int) and 0 < d <= 4  # noqa: E731
    if small(c1) and not small(c_last):
        return "NCHW"
    if small(c_last) and not small(c1):
        return "NHWC"
    if isinstance(shape[2], int) and isinstance(c_last, int) and isinstance(c1, int):
        # square spatial dims decide: NCHW has H == W at positions 2, 3
        if shape[2] == shape[3] and shape[1] != shape[2]:
            return "NCHW"
        if shape[1] == shape[2] and shape[3] != shape[2]:
            return "NHWC"
    return None


@dataclass
class ModelMetadata:
    """Metadata embedded in a model, stored in each format's own place.

    ONNX: ``metadata_props`` (keys ``edgeport.labels`` etc.); TFLite: a metadata
    buffer named ``edgeport`` holding JSON; OpenVINO IR: ``rt_info``.
    """

    labels: list[str] = field(default_factory=list)
    mean: list[float] | None = None
    std: list[float] | None = None
    version: str | None = None
    description: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ModelMetadata":
        known = {k: d[k] for k in ("labels", "mean", "std", "version", "description", "extra") if k in d}
        return cls(**known)

    def is_empty(self) -> bool:
        return not (self.labels or self.mean or self.std or self.version or self.description or self.extra)
