"""The seed talk's story, end to end, on the embedded doodle classifier (``edgeport demo``).

::

    from edgeport.demo import run_demo
    report = run_demo(runs=50)             # DemoReport: inspect, classify, convert, quantize, benchmark
    report.benchmark.rows                  # [BenchRow(model, format, backend, size_bytes, avg_ms, std_ms, accuracy)]

Each step returns a report object with ``status`` ``"ok"``, ``"skipped"`` (with the reason:
a layer or a runtime that is not installed) or ``"failed"`` (with the error), so the demo
always runs to the end. The shipped model is ``edgeport/assets/doodle/doodle.onnx``; the
other formats are made at run time in a temporary folder (or ``out_dir``): OpenVINO IR
(openvino.convert_model), TorchScript and torch.export .pt2 (DoodleNet with the ONNX weights), TFLite
(edgeport.convert) and int8 TFLite (edgeport.compress.quantize). Nothing is printed here:
the CLI renders the reports.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from edgeport.assets import doodle as _assets

__all__ = [
    "run_demo", "DemoReport", "Step", "InspectStep", "Classification", "ClassifyStep", "Variant",
    "ConvertStep", "QuantizeStep", "BenchRow", "BenchmarkStep", "evaluate_accuracy", "preprocess",
]

#: progress(task description, done, total); called as work advances (the CLI draws a bar).
ProgressFn = Callable[[str, int, int], None]


def _no_progress(desc: str, done: int, total: int) -> None:
    pass


@dataclass
class Step:
    """One section of the demo: ``status`` is "ok", "skipped" or "failed"; ``reason`` says why not ok."""

    name: str
    status: str = "ok"
    reason: str | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class InspectStep(Step):
    """``edgeport.open(doodle.onnx)``: the model file (format, size, signature, metadata) and its inspection."""

    model: dict[str, Any] = field(default_factory=dict)
    inspection: dict[str, Any] = field(default_factory=dict)


@dataclass
class Classification:
    """One sample: file, true label, predicted label and its softmax score."""

    file: str
    label: str
    predicted: str
    score: float

    @property
    def correct(self) -> bool:
        return self.label == self.predicted


@dataclass
class ClassifyStep(Step):
    """The shipped samples classified with ``edgeport.load`` (labels from the model's metadata)."""

    backend: str | None = None
    labels_from: str | None = None
    rows: list[Classification] = field(default_factory=list)

    @property
    def correct(self) -> int:
        return sum(r.correct for r in self.rows)


@dataclass
class Variant:
    """One model file of the demo: name, format, path, size, and how it was made."""

    name: str
    format: str
    path: str
    size_bytes: int
    how: str


@dataclass
class ConvertStep(Step):
    """The formats made from the ONNX model; ``skipped`` maps a format to why it was not made."""

    variants: list[Variant] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


@dataclass
class QuantizeStep(Step):
    """int8 quantization of the TFLite model (edgeport.compress.quantize)."""

    variant: Variant | None = None
    source: str | None = None
    report: dict[str, Any] = field(default_factory=dict)


@dataclass
class BenchRow:
    """One row of the talk's table: model, format, backend, size, avg, std (ms), top-1 accuracy on test.npz."""

    model: str
    format: str
    backend: str
    size_bytes: int
    avg_ms: float | None
    std_ms: float | None
    accuracy: float | None
    note: str | None = None


@dataclass
class BenchmarkStep(Step):
    """edgeport.bench.benchmark over every variant on every available backend that reads its format."""

    threads: int = 1
    runs: int = 0
    warmup: int = 0
    test_samples: int = 0
    rows: list[BenchRow] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    cpu: dict[str, Any] = field(default_factory=dict)


@dataclass
class DemoReport:
    """All steps of one demo run, in order; ``out_dir`` holds the converted models when kept."""

    inspect: InspectStep
    classify: ClassifyStep
    convert: ConvertStep
    quantize: QuantizeStep
    benchmark: BenchmarkStep
    out_dir: str | None = None
    seconds: float = 0.0

    @property
    def steps(self) -> list[Step]:
        return [self.inspect, self.classify, self.convert, self.quantize, self.benchmark]

    def to_dict(self) -> dict[str, Any]:
        return {"model": str(_assets.MODEL_PATH), "out_dir": self.out_dir, "seconds": self.seconds,
                "steps": {s.name: s.to_dict() for s in self.steps}}


# ---------------------------------------------------------------- helpers


def _why(e: BaseException) -> str:
    msg = e.one_line() if hasattr(e, "one_line") else (str(e).splitlines()[0] if str(e) else "")
    return f"{type(e).__name__}: {msg}" if msg else type(e).__name__


def _missing(e: ImportError, what: str) -> str:
    return f"{what} is not available ({e})"


@contextlib.contextmanager
def _timed(step: Step):
    t0 = time.perf_counter()
    try:
        yield
    except Exception as e:  # a step that breaks never stops the demo; it says why
        step.status, step.reason = "failed", _why(e)
    finally:
        step.seconds = round(time.perf_counter() - t0, 3)


def _norm() -> tuple[float, float]:
    inp = _assets.model_card()["input"]
    return float(inp["mean"][0]), float(inp["std"][0])


def preprocess(images: np.ndarray, spec=None, mean: float | None = None, std: float | None = None) -> np.ndarray:
    """uint8 doodles ``[N,28,28]`` -> float32 ``(x/255 - mean)/std`` in the layout of ``spec`` (NCHW default).

    A TensorSpec whose last dim is 1 and second is not (``[N,28,28,1]``) gets NHWC.
    """
    if mean is None or std is None:
        mean, std = _norm()
    x = ((images.astype(np.float32) / 255.0 - mean) / std).astype(np.float32)[:, None]
    if spec is not None and len(spec.shape) == 4 and spec.shape[-1] == 1 and spec.shape[1] != 1:
        x = x.transpose(0, 2, 3, 1)
    return np.ascontiguousarray(x)


def _batch_size(spec, default: int = 500) -> int:
    b = spec.shape[0] if spec.shape else None
    return b if isinstance(b, int) and b > 0 else default


def evaluate_accuracy(session, images: np.ndarray, labels: np.ndarray, progress: ProgressFn | None = None,
                      desc: str = "accuracy") -> float:
    """Top-1 accuracy of an ``edgeport.runtime.Session`` on uint8 doodles, in batches the model accepts."""
    spec = session.inputs[0]
    dtype = np.dtype(spec.dtype)
    x = preprocess(images, spec)
    if dtype != np.float32:
        x = _quantize_input(session, x, dtype)
    bs = _batch_size(spec)
    correct = 0
    for i in range(0, len(x), bs):
        out = session.run(x[i:i + bs])
        y = next(iter(out.values())) if isinstance(out, dict) else out
        correct += int((np.asarray(y).reshape(len(x[i:i + bs]), -1).argmax(1) == labels[i:i + bs]).sum())
        if progress and (i // bs) % 50 == 0:
            progress(desc, min(i + bs, len(x)), len(x))
    return correct / len(x)


def _quantize_input(session, x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Integer-input model (full int8 TFLite): quantize with the input's own scale/zero point."""
    details = session.raw.get_input_details()[0]
    scale, zero = details.get("quantization", (0.0, 0))
    if not scale:
        raise ValueError(f"input {session.inputs[0].name} is {dtype} without quantization parameters")
    info = np.iinfo(dtype)
    return np.clip(np.round(x / scale + zero), info.min, info.max).astype(dtype)


# ---------------------------------------------------------------- steps


def inspect_model(path: Path = _assets.MODEL_PATH) -> InspectStep:
    """Open the model with edgeport.open and inspect it (model layer)."""
    step = InspectStep("inspect")
    with _timed(step):
        try:
            import edgeport

            mf = edgeport.open(path)
        except ImportError as e:
            step.status, step.reason = "skipped", _missing(e, "edgeport.model (edgeport.open)")
            return step
        step.model = mf.to_dict() if hasattr(mf, "to_dict") else {"path": str(path), "format": mf.format}
        step.inspection = mf.inspect().to_dict()
    return step


def _labels(path: Path) -> tuple[list[str], str]:
    with contextlib.suppress(Exception):
        import edgeport

        labels = list(edgeport.open(path).metadata.labels)
        if labels:
            return labels, "model metadata (edgeport.labels)"
    return _assets.labels(), "labels.txt"


def classify_samples(path: Path = _assets.MODEL_PATH, threads: int = 1) -> ClassifyStep:
    """Classify the shipped PNG samples with edgeport.load; true label from the file name."""
    step = ClassifyStep("classify")
    with _timed(step):
        try:
            import edgeport.runtime  # noqa: F401
            from edgeport import load
        except ImportError as e:
            step.status, step.reason = "skipped", _missing(e, "edgeport.runtime (edgeport.load)")
            return step
        from PIL import Image

        labels, step.labels_from = _labels(path)
        with load(path, threads=threads) as sess:
            step.backend = sess.backend
            for png in _assets.sample_paths():
                img = np.asarray(Image.open(png).convert("L"), dtype=np.uint8)[None]
                out = sess.run(preprocess(img, sess.inputs[0]))
                p = np.asarray(next(iter(out.values()))).reshape(-1)
                k = int(p.argmax())
                true = png.stem.split("_", 1)[1] if "_" in png.stem else "?"
                step.rows.append(Classification(png.name, true, labels[k], round(float(p[k]), 4)))
    return step


def _make_openvino(src: Path, out: Path) -> Path:
    from edgeport.convert.to_openvino import onnx_to_openvino

    dest = out / "doodle.xml"
    onnx_to_openvino(src, dest)
    return dest


def _doodle_net(src: Path):
    """The DoodleNet module with the weights of the shipped ONNX file (for the PyTorch formats)."""
    from edgeport.assets.doodle.model import DoodleNet, state_dict_from_onnx

    net = DoodleNet()
    net.load_state_dict(state_dict_from_onnx(src))
    return net.eval()


def _make_torchscript(src: Path, out: Path) -> Path:
    import torch

    from edgeport._fileio import atomic_path

    net = _doodle_net(src)
    dest = out / "doodle.pt"
    with torch.no_grad(), warnings.catch_warnings():  # torch >= 2.9 deprecates TorchScript; still a format users have
        warnings.simplefilter("ignore", DeprecationWarning)
        ts = torch.jit.trace(net, torch.zeros(1, 1, 28, 28))
        with atomic_path(dest) as tmp:
            torch.jit.save(ts, str(tmp))
    return dest


def _make_pt2(src: Path, out: Path) -> Path:
    import torch

    from edgeport._fileio import atomic_path

    net = _doodle_net(src)
    dest = out / "doodle.pt2"
    batch = torch.export.Dim("batch", max=1024)
    ep = torch.export.export(net, (torch.zeros(2, 1, 28, 28),), dynamic_shapes=({0: batch},))
    with atomic_path(dest) as tmp:
        torch.export.save(ep, str(tmp))
    return dest


def _make_tflite(src: Path, out: Path) -> Path:
    from edgeport.convert import convert

    dest = out / "doodle.tflite"
    convert(src, dest)
    return dest


_MAKERS: list[tuple[str, str, Callable[[Path, Path], Path], str]] = [
    ("tflite", "edgeport.convert", _make_tflite, "edgeport.convert"),
    ("openvino", "edgeport.convert.to_openvino (FP32 IR)", _make_openvino, "openvino"),
    ("torchscript", "torch.jit.trace (ONNX weights)", _make_torchscript, "torch"),
    ("pt2", "torch.export (ONNX weights)", _make_pt2, "torch"),
]


def _variant(name: str, fmt: str, path: Path, how: str) -> Variant:
    size = path.stat().st_size
    if fmt == "openvino":
        size += path.with_suffix(".bin").stat().st_size
    return Variant(name, fmt, str(path), size, how)


def convert_formats(out_dir: Path, src: Path = _assets.MODEL_PATH, progress: ProgressFn = _no_progress) -> ConvertStep:
    """Make the TFLite, OpenVINO IR, TorchScript and .pt2 versions of the ONNX model in ``out_dir``."""
    step = ConvertStep("convert")
    with _timed(step):
        step.variants.append(_variant("doodle.onnx", "onnx", src, "shipped; trained by assets/doodle/train.py"))
        for i, (fmt, how, make, needs) in enumerate(_MAKERS):
            progress("convert", i, len(_MAKERS))
            try:
                path = make(src, out_dir)
            except ImportError as e:
                step.skipped[fmt] = f"skipped: {_missing(e, needs)}"
                continue
            except Exception as e:
                step.skipped[fmt] = f"failed: {_why(e)}"
                continue
            step.variants.append(_variant(path.name, fmt, path, how))
        progress("convert", len(_MAKERS), len(_MAKERS))
        if len(step.variants) == 1:
            step.status, step.reason = "skipped", "; ".join(f"{k}: {v}" for k, v in step.skipped.items())
    return step


def quantize_int8(out_dir: Path, converted: ConvertStep) -> QuantizeStep:
    """int8-quantize the TFLite model with edgeport.compress.quantize, calibrated on calib.npz (not test.npz)."""
    step = QuantizeStep("quantize")
    with _timed(step):
        try:
            from edgeport.compress import quantize
        except ImportError as e:
            step.status, step.reason = "skipped", _missing(e, "edgeport.compress.quantize")
            return step
        src = next((v for v in converted.variants if v.format == "tflite"), None)
        if src is None:
            step.status, step.reason = "skipped", "no TFLite model to quantize (" + converted.skipped.get("tflite", "?") + ")"
            return step
        step.source = src.name
        dest = out_dir / "doodle_int8.tflite"
        rep = quantize(src.path, dest, mode="int8", calib=str(_assets.CALIB_PATH))
        step.report = rep.to_dict() if hasattr(rep, "to_dict") else {}
        step.variant = _variant(dest.name, "tflite", dest, "edgeport.compress.quantize int8")
    return step


def benchmark_variants(variants: list[Variant], runs: int = 50, warmup: int = 5, threads: int = 1,
                       accuracy: bool = True, progress: ProgressFn = _no_progress) -> BenchmarkStep:
    """Benchmark each variant on each available backend that reads its format; add test.npz accuracy per row."""
    step = BenchmarkStep("benchmark", threads=threads, runs=runs, warmup=warmup)
    with _timed(step):
        try:
            from edgeport.bench import benchmark
            from edgeport.runtime import backends_for_format, load
        except ImportError as e:
            step.status, step.reason = "skipped", _missing(e, "edgeport.bench.benchmark")
            return step
        images, labels = _assets.load_test_set() if accuracy else (None, None)
        step.test_samples = 0 if images is None else len(images)
        _, samples, _ = _assets.load_samples()
        pairs = [(v, b) for v in variants for b in backends_for_format(v.format)]
        for i, (v, b) in enumerate(pairs):
            desc = f"benchmark {v.name} on {b}"
            progress(desc, i, len(pairs))
            acc, note = None, None
            try:  # the signature (input name, layout) and the accuracy on test.npz
                with load(v.path, backend=b, threads=threads) as sess:
                    spec = sess.inputs[0]
                    if images is not None:
                        try:
                            acc = round(evaluate_accuracy(sess, images, labels), 4)
                        except Exception as e:
                            note = f"accuracy: {_why(e)}"
                feeds = {spec.name: preprocess(samples[:1], spec)}
                if np.dtype(spec.dtype) != np.float32:
                    feeds = None  # integer input: let the runner draw random inputs of the right dtype
                cmp = benchmark([v.path], backends=[b], threads=threads, warmup=warmup, runs=runs, inputs=feeds,
                                memory=False,
                                progress=lambda d, t, _l, desc=desc, i=i: progress(desc, i * t + d, len(pairs) * t))
            except Exception as e:
                step.skipped.append({"model": v.name, "backend": b, "reason": _why(e)})
                continue
            step.cpu = step.cpu or dict(getattr(cmp, "cpu", {}) or {})
            for s in getattr(cmp, "skipped", []) or []:
                step.skipped.append({"model": v.name, "backend": b, "reason": str(s.get("reason", s))})
            for r in cmp.results:
                step.rows.append(BenchRow(v.name, v.format, r.backend, int(r.size_bytes), float(r.avg_ms),
                                          float(r.std_ms), acc, note))
        progress("benchmark", len(pairs), len(pairs))
        if not step.rows:
            step.status = "failed" if step.skipped else "skipped"
            step.reason = "no backend could run any variant"
    return step


def run_demo(runs: int = 50, warmup: int = 5, threads: int = 1, out_dir: str | Path | None = None,
             accuracy: bool = True, progress: ProgressFn = _no_progress,
             on_step: Callable[[Step], None] | None = None) -> DemoReport:
    """Run the whole demo. ``out_dir`` keeps the converted models (default: a temporary folder, removed).

    ``on_step`` is called with each step's report as soon as it is done (the CLI prints it).
    """
    t0 = time.perf_counter()
    done = on_step or (lambda s: None)
    with contextlib.ExitStack() as stack:
        if out_dir is None:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="edgeport-demo-")))
        else:
            work = Path(out_dir)
            work.mkdir(parents=True, exist_ok=True)
        ins = inspect_model()
        done(ins)
        cls = classify_samples(threads=threads)
        done(cls)
        conv = convert_formats(work, progress=progress)
        done(conv)
        q = quantize_int8(work, conv)
        done(q)
        variants = conv.variants + ([q.variant] if q.variant else [])
        bench = benchmark_variants(variants, runs=runs, warmup=warmup, threads=threads, accuracy=accuracy,
                                   progress=progress)
        done(bench)
    return DemoReport(ins, cls, conv, q, bench, out_dir=None if out_dir is None else str(work),
                      seconds=round(time.perf_counter() - t0, 2))
