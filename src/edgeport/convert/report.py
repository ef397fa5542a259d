"""ConversionReport: what a conversion did, for the CLI's Rich view and ``--json``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from edgeport.model.spec import TensorSpec

__all__ = ["ConversionReport", "peak_rss_mb"]


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class ConversionReport:
    """Source and result signatures, op counts, Transposes before/after, passes, time, memory, verification."""

    source: str
    output: str
    source_format: str
    output_format: str
    inputs_before: list[TensorSpec] = field(default_factory=list)
    outputs_before: list[TensorSpec] = field(default_factory=list)
    inputs_after: list[TensorSpec] = field(default_factory=list)
    outputs_after: list[TensorSpec] = field(default_factory=list)
    io_layout: str = "NHWC"
    source_ops: dict[str, int] = field(default_factory=dict)
    result_ops: dict[str, int] = field(default_factory=dict)
    transposes_source: int = 0
    transposes_result: int = 0
    passes: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    convert_seconds: float = 0.0
    peak_rss_mb: float = 0.0
    size_bytes: int = 0
    verification: Any = None
    warnings: list[str] = field(default_factory=list)

    @property
    def verified(self) -> bool | None:
        """True/False after verification, None when it was skipped."""
        return None if self.verification is None else bool(getattr(self.verification, "passed", False))

    def to_dict(self) -> dict[str, Any]:
        specs = lambda xs: [s.to_dict() for s in xs]  # noqa: E731
        v = self.verification
        return {
            "source": self.source, "output": self.output, "source_format": self.source_format,
            "output_format": self.output_format, "io_layout": self.io_layout,
            "inputs_before": specs(self.inputs_before), "outputs_before": specs(self.outputs_before),
            "inputs_after": specs(self.inputs_after), "outputs_after": specs(self.outputs_after),
            "source_ops": dict(self.source_ops), "result_ops": dict(self.result_ops),
            "transposes_source": self.transposes_source, "transposes_result": self.transposes_result,
            "passes": self.passes, "seconds": round(self.seconds, 4),
            "convert_seconds": round(self.convert_seconds, 4), "peak_rss_mb": round(self.peak_rss_mb, 1),
            "size_bytes": self.size_bytes, "verified": self.verified,
            "verification": v.to_dict() if hasattr(v, "to_dict") else v, "warnings": list(self.warnings),
        }
