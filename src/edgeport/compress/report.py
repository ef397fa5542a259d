"""QuantizationReport: what a quantization did, with layer diagnosis and accuracy, ``to_dict()`` for --json."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["LayerStat", "QuantizationReport"]


@dataclass
class LayerStat:
    """One layer (named by its output tensor) compared with the float model on calibration data."""

    name: str
    op: str
    snr_db: float
    cosine: float
    kept_float: bool = False


@dataclass
class QuantizationReport:
    source: str
    output: str
    format: str
    mode: str
    method: str = "minmax"
    per_channel: bool = True
    size_before: int = 0
    size_after: int = 0
    calibration_samples: int = 0
    quantized_layers: list[str] = field(default_factory=list)
    float_layers: list[str] = field(default_factory=list)
    int16_layers: list[str] = field(default_factory=list)  # int8 model layers given int16 activations (16x8)
    layers: list[LayerStat] = field(default_factory=list)  # worst SNR first
    output_cosine: float | None = None
    output_snr_db: float | None = None
    float_metric: float | None = None  # top-1 (labels) or 1.0 (agreement with float)
    quant_metric: float | None = None
    metric_name: str | None = None
    max_drop: float | None = None
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    latency_ms: dict[str, float] = field(default_factory=dict)  # float / int8 / mixed, after auto mixed precision

    @property
    def size_ratio(self) -> float:
        return self.size_after / self.size_before if self.size_before else float("nan")

    @property
    def drop(self) -> float | None:
        if self.float_metric is None or self.quant_metric is None:
            return None
        return self.float_metric - self.quant_metric

    @property
    def within_budget(self) -> bool | None:
        if self.max_drop is None or self.drop is None:
            return None
        return self.drop <= self.max_drop + 1e-12

    def precision(self, layer: str) -> str:
        """"float", "int16" or the mode's integer precision of ``layer`` in the result."""
        if layer in self.float_layers:
            return "float"
        if layer in self.int16_layers:
            return "int16"
        return "int16" if self.mode == "int16x8" else "int8"

    def worst(self, n: int = 5) -> list[LayerStat]:
        return self.layers[:n]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(size_ratio=self.size_ratio, drop=self.drop, within_budget=self.within_budget)
        return d
