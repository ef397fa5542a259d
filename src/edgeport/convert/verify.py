"""Compare two models on the same inputs: outputs, and with ``layerwise`` every shared intermediate.

Any pair among ONNX, TFLite, OpenVINO IR and PyTorch (a ``.pt2``/``.pt`` file or a live
``nn.Module``). Inputs are the user's (``data``) or seeded random ones drawn from the first model's
signature. Outputs (and intermediates) are matched by name, else by position; when two shapes differ
by a layout permutation (NCHW <-> NHWC), the second model's feeds/results are transposed and the
report says so.

Error figures per output: max abs, max rel (``max|a-b| / (max(a)-min(a))``, guarded for constant
outputs) and cosine similarity. ``passed`` means every output's max rel is within ``tolerance``.
``verify`` never raises on a mismatch: call :meth:`VerificationReport.check` to turn it into a
:class:`~edgeport.errors.VerificationError`.

>>> report = verify("model.onnx", "model.tflite", layerwise=True)
>>> report.passed, report.first_divergence
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import numpy as np

from edgeport.convert.verify_backends import Runner, open_runner
from edgeport.convert.verify_data import (
    Metrics,
    align_to,
    compare_arrays,
    layout_perms,
    load_samples,
    merge_specs,
    random_feeds,
)
from edgeport.errors import InputMismatchError, UsageError, VerificationError
from edgeport.model.spec import TensorSpec

__all__ = ["verify", "VerificationReport", "OutputComparison", "LayerComparison"]


@dataclass
class OutputComparison:
    """One output (or intermediate) of ``a`` against its match in ``b``."""

    name: str
    name_b: str
    shape: tuple[int, ...]
    max_abs: float
    max_rel: float
    cosine: float
    passed: bool
    transposed: str | None = None  # how b's tensor was permuted to a's layout, e.g. "NHWC->NCHW"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"shape": list(self.shape)}


@dataclass
class LayerComparison(OutputComparison):
    """An intermediate tensor, with the ops that produced it in ``a`` and ``b``."""

    op: str = ""
    op_b: str = ""


@dataclass
class VerificationReport:
    """Result of :func:`verify`; ``to_dict()`` for ``--json``."""

    a: str
    b: str
    backend_a: str
    backend_b: str
    tolerance: float
    inputs: str  # where the inputs came from
    samples: int
    outputs: list[OutputComparison] = field(default_factory=list)
    layers: list[LayerComparison] = field(default_factory=list)
    layerwise: bool = False
    first_divergence: LayerComparison | None = None
    unmatched: list[str] = field(default_factory=list)  # outputs of a with no match in b
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.outputs) and not self.unmatched and all(o.passed for o in self.outputs)

    @property
    def max_rel(self) -> float:
        return max((o.max_rel for o in self.outputs), default=float("inf"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a, "b": self.b, "backend_a": self.backend_a, "backend_b": self.backend_b,
            "tolerance": self.tolerance, "inputs": self.inputs, "samples": self.samples,
            "passed": self.passed, "max_rel": self.max_rel,
            "outputs": [o.to_dict() for o in self.outputs],
            "unmatched": self.unmatched, "notes": self.notes, "layerwise": self.layerwise,
            "layers_compared": len(self.layers),
            "first_divergence": self.first_divergence.to_dict() if self.first_divergence else None,
            "layers": [layer.to_dict() for layer in self.layers],
        }

    def check(self) -> "VerificationReport":
        """Raise :class:`VerificationError` (with this report attached) unless passed; return self."""
        if self.passed:
            return self
        if self.unmatched:
            what = f"output(s) {', '.join(self.unmatched)} of {self.a} have no match in {self.b}"
        else:
            worst = max(self.outputs, key=lambda o: o.max_rel) if self.outputs else None
            what = (f"{self.b} differs from {self.a}: output {worst.name!r} max rel error "
                    f"{worst.max_rel:.3g} > tolerance {self.tolerance:g}") if worst else "no outputs to compare"
        if self.first_divergence is not None:
            what += f"; first divergence at {self.first_divergence.op or self.first_divergence.name}"
        hint = ("run `edgeport verify A B --layerwise` to find the first op that diverges"
                if not self.layerwise else "inspect that op's conversion, or raise --tolerance")
        raise VerificationError(what, hint=hint, report=self)

    raise_if_failed = check


def verify(a: Any, b: Any, data: Any = None, layerwise: bool = False, tolerance: float = 1e-4, seed: int = 0,
           backend_a: str | None = None, backend_b: str | None = None) -> VerificationReport:
    """Run ``a`` and ``b`` on the same inputs and compare them (``a`` is the reference)."""
    if not tolerance >= 0:
        raise UsageError(f"tolerance must be >= 0, got {tolerance}", hint="e.g. --tolerance 1e-4")
    ra = open_runner(a, backend_a)
    try:
        rb = open_runner(b, backend_b)
    except BaseException:
        ra.close()
        raise
    try:
        return _verify(ra, rb, data, layerwise, tolerance, seed)
    finally:
        ra.close()
        rb.close()


def _verify(ra: Runner, rb: Runner, data: Any, layerwise: bool, tolerance: float, seed: int) -> VerificationReport:
    ref_specs = ra.inputs if ra.inputs is not None else rb.inputs
    if ref_specs is None:
        if data is None:
            raise UsageError("cannot draw inputs for two PyTorch modules", hint="pass data= (a dict or .npz)")
        ref_specs = [TensorSpec(str(k), tuple(np.shape(v)), str(np.asarray(v).dtype)) for k, v in
                     (data.items() if isinstance(data, dict) else [])]
    other = rb.inputs if ra.inputs is not None else None
    specs = merge_specs(ref_specs, other)
    if data is None:
        samples = [random_feeds(specs, seed)]
        source = f"random (seed={seed})"
    else:
        samples = load_samples(data, specs)
        source = str(data) if not isinstance(data, dict) else "dict"
    report = VerificationReport(a=ra.label, b=rb.label, backend_a=ra.backend, backend_b=rb.backend,
                                tolerance=tolerance, inputs=source, samples=len(samples), layerwise=layerwise)
    notes: list[str] = []
    rows: dict[str, OutputComparison] = {}
    for sample in samples:
        fa = _feeds_for(ra, specs, sample, notes)
        fb = _feeds_for(rb, specs, sample, notes)
        outs_a = _dequantize(ra.run(fa), ra, notes)
        outs_b = _dequantize(rb.run(fb), rb, notes)
        pairs, unmatched = _match(list(outs_a), list(outs_b))
        report.unmatched = unmatched
        for na, nb in pairs:
            row = _compare(na, nb, outs_a[na], outs_b[nb], tolerance)
            if row is None:
                row = OutputComparison(na, nb, tuple(np.shape(outs_a[na])), float("inf"), float("inf"), 0.0, False,
                                       f"shape {tuple(np.shape(outs_b[nb]))} does not fit")
            rows[na] = _worst(rows.get(na), row)
    report.outputs = list(rows.values())
    for row in report.outputs:
        if row.transposed and row.transposed not in ("reshaped",) and not row.transposed.startswith("shape"):
            notes.append(f"output {row.name}: {rb.label} result transposed {row.transposed}")
    if layerwise:
        _layerwise(report, ra, rb, _feeds_for(ra, specs, samples[0], []), _feeds_for(rb, specs, samples[0], []),
                   tolerance, notes)
    report.notes = list(dict.fromkeys(notes))
    return report


def _dequantize(outs: dict[str, np.ndarray], r: Runner, notes: list[str]) -> dict[str, np.ndarray]:
    """Integer outputs of a quantized model back to real values: (q - zero_point) * scale."""
    for name, (scale, zero) in r.quantization.items():
        if name in outs and np.asarray(outs[name]).dtype.kind in "iu":
            outs[name] = (np.asarray(outs[name]).astype(np.float32) - zero) * np.float32(scale)
            notes.append(f"output {name} of {r.label}: dequantized (scale {scale:g}, zero point {zero})")
    return outs


def _worst(old: OutputComparison | None, new: OutputComparison) -> OutputComparison:
    if old is None:
        return new
    return OutputComparison(new.name, new.name_b, new.shape, max(old.max_abs, new.max_abs),
                            max(old.max_rel, new.max_rel), min(old.cosine, new.cosine),
                            old.passed and new.passed, old.transposed or new.transposed)


def _feeds_for(r: Runner, specs: Sequence[TensorSpec], sample: dict[str, np.ndarray], notes: list[str]):
    """The sample as ``r`` wants it: by name (else position), transposed where its layout differs."""
    if r.inputs is None:  # live torch module: positional, in the reference order
        return [sample[s.name] for s in specs]
    ordered = [sample[s.name] for s in specs]
    feeds = {}
    for i, spec in enumerate(r.inputs):
        if spec.name in sample:
            x = sample[spec.name]
        elif i < len(ordered) and len(r.inputs) == len(ordered):
            x = ordered[i]
        else:
            raise InputMismatchError(f"{r.label} input {spec.name!r} has no match among {', '.join(sample)}",
                                     hint="name the inputs alike in both models, or pass --data")
        feeds[spec.name] = _fit_input(x, spec, r.label, notes)
    return feeds


def _fit_input(x: np.ndarray, spec: TensorSpec, label: str, notes: list[str]) -> np.ndarray:
    x = np.asarray(x)
    if np.dtype(spec.dtype) != x.dtype and x.dtype.kind == np.dtype(spec.dtype).kind:
        x = x.astype(spec.dtype)
    if len(spec.shape) != x.ndim:
        return x  # let the runtime name the mismatch
    fits = lambda shape: all(not isinstance(d, int) or d < 0 or d == e for d, e in zip(spec.shape, shape))  # noqa: E731
    if fits(x.shape):
        return x
    for perm, lab in layout_perms(x.ndim):
        y = x.transpose(perm)
        if fits(y.shape):
            notes.append(f"input {spec.name}: fed to {label} transposed {lab}")
            return np.ascontiguousarray(y)
    return x


def _match(names_a: list[str], names_b: list[str]) -> tuple[list[tuple[str, str]], list[str]]:
    """Pairs by name; the rest by position when the counts agree."""
    pairs = [(n, n) for n in names_a if n in names_b]
    rest_a = [n for n in names_a if n not in names_b]
    rest_b = [n for n in names_b if n not in names_a]
    if rest_a and len(names_a) == len(names_b):
        if not pairs:
            return list(zip(names_a, names_b)), []
        pairs += list(zip(rest_a, rest_b))
        return pairs, []
    return pairs, rest_a


def _compare(na: str, nb: str, xa: np.ndarray, xb: np.ndarray, tol: float,
             cls: type = OutputComparison, **extra) -> OutputComparison | None:
    """Compare xb to xa, trying a layout permutation where the shapes (or the numbers) say so."""
    xa, xb = np.asarray(xa), np.asarray(xb)
    cands = align_to(xa.shape, xb)
    best: tuple[Metrics, str | None] | None = None
    for y, note in cands:
        m = compare_arrays(xa, y)
        if best is None or m.max_rel < best[0].max_rel:
            best = (m, note)
        if m.within(tol):
            break
    if best is None:
        return None
    m, note = best
    return cls(na, nb, tuple(int(d) for d in xa.shape), m.max_abs, m.max_rel, m.cosine, m.within(tol), note, **extra)


def _layerwise(report: VerificationReport, ra: Runner, rb: Runner, fa, fb, tol: float, notes: list[str]) -> None:
    for r in (ra, rb):
        if r.intermediates is None:
            notes.append(f"layerwise: {r.label} ({r.format}) exposes no intermediate tensors; outputs only")
    if ra.intermediates is None or rb.intermediates is None:
        return
    vals_a, order_a = ra.intermediates(fa)
    vals_b, order_b = rb.intermediates(fb)
    ops_b = {layer.name: layer.op for layer in order_b}
    shared = [layer for layer in order_a if layer.name in vals_b]
    if not shared:
        notes.append("layerwise: the two models share no intermediate tensor names")
    for layer in shared:
        row = _compare(layer.name, layer.name, vals_a[layer.name], vals_b[layer.name], tol,
                       cls=LayerComparison, op=layer.op, op_b=ops_b.get(layer.name, ""))
        if row is None:
            continue
        report.layers.append(row)
        if not row.passed and report.first_divergence is None:
            report.first_divergence = row

