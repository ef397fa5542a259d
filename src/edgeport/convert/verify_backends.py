"""How :mod:`edgeport.convert.verify` runs a model and reads its intermediate tensors.

Outputs go through :func:`edgeport.runtime.load` (the one place that runs models). Two things
the runtime's ``Session`` does not offer are done here, natively, on a file that
:func:`edgeport.model.check_file` accepted first:

* intermediates for ``--layerwise``: ONNX (every value made a graph output, on a temporary copy,
  run with ONNX Runtime), TFLite (``experimental_preserve_all_tensors``), OpenVINO (every op
  output added as a model output);
* a live ``torch.nn.Module`` (no file), run as is.

If the runtime layer is not importable, a minimal native runner per format stands in for it.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from edgeport.errors import BackendUnavailableError, ModelFormatError
from edgeport.model.spec import TensorSpec, guess_layout

__all__ = ["Runner", "open_runner", "model_format", "Layer"]

_ORT_TYPES = {
    "tensor(float)": "float32", "tensor(float16)": "float16", "tensor(double)": "float64",
    "tensor(int8)": "int8", "tensor(uint8)": "uint8", "tensor(int16)": "int16", "tensor(uint16)": "uint16",
    "tensor(int32)": "int32", "tensor(int64)": "int64", "tensor(uint32)": "uint32", "tensor(uint64)": "uint64",
    "tensor(bool)": "bool",
}


@dataclass(frozen=True)
class Layer:
    """An intermediate tensor in execution order: its name and the op that produced it."""

    name: str
    op: str  # e.g. "Conv (/conv1/Conv)" or "CONV_2D"


@dataclass
class Runner:
    """What verify needs of a model: signature, run, and (maybe) intermediates."""

    label: str
    format: str
    backend: str
    inputs: list[TensorSpec] | None  # None: unknown (a live torch module)
    outputs: list[TensorSpec] | None
    run: Callable[[dict[str, np.ndarray] | list[np.ndarray]], dict[str, np.ndarray]]
    intermediates: Callable[[dict[str, np.ndarray]], tuple[dict[str, np.ndarray], list[Layer]]] | None = None
    close: Callable[[], None] = lambda: None
    notes: list[str] = field(default_factory=list)
    quantization: dict[str, tuple[float, int]] = field(default_factory=dict)  # output name -> (scale, zero)


def model_format(path: Path) -> str:
    """The format of a model file (content first, via edgeport.model; the extension otherwise)."""
    if not path.exists():
        raise ModelFormatError(f"model not found: {path}", hint="check the path")
    from edgeport.model import sniff_format

    return sniff_format(path)


def _check_file(path: Path, fmt: str) -> None:
    from edgeport.model import check_file

    check_file(path, fmt)


def open_runner(model: Any, backend: str | None = None) -> Runner:
    """A Runner for a path or a torch.nn.Module; ``backend`` forces a runtime backend."""
    if _is_torch_module(model):
        return _torch_module_runner(model, label=type(model).__name__)
    path = Path(model)
    fmt = model_format(path)
    _check_file(path, fmt)
    runner = _runtime_runner(path, fmt, backend)
    if runner is None:
        runner = _native_runner(path, fmt, backend)
    runner.intermediates = _INTERMEDIATES.get(fmt) and (lambda feeds, _f=_INTERMEDIATES[fmt]: _f(path, feeds))
    if fmt == "tflite":
        runner.quantization = _tflite_output_quantization(path)
    return runner


def _tflite_output_quantization(path: Path) -> dict[str, tuple[float, int]]:
    """Scale and zero point of each quantized (integer) output of a TFLite model."""
    interp = _tflite_interpreter(path)
    out = {}
    for d in interp.get_output_details():
        scale, zero = d.get("quantization", (0.0, 0))
        if scale and np.dtype(d["dtype"]).kind in "iu":
            out[d["name"]] = (float(scale), int(zero))
    return out


def _is_torch_module(model: Any) -> bool:
    mod = type(model).__module__
    if not mod.startswith("torch") and not hasattr(model, "forward"):
        return False
    try:
        import torch
    except ImportError:
        return False
    return isinstance(model, torch.nn.Module)


def _runtime_runner(path: Path, fmt: str, backend: str | None) -> Runner | None:
    try:
        from edgeport.runtime import load  # type: ignore[attr-defined]
    except ImportError:
        return None
    sess = load(path, backend=backend)
    return Runner(label=str(path), format=fmt, backend=sess.backend, inputs=list(sess.inputs),
                  outputs=list(sess.outputs), run=sess.run, close=sess.close)


# --------------------------------------------------------------------------- native runners

def _native_runner(path: Path, fmt: str, backend: str | None) -> Runner:
    want = backend or {"onnx": "onnxruntime", "tflite": "litert", "openvino": "openvino"}.get(fmt, "torch")
    if want == "onnxruntime" and fmt == "onnx":
        return _ort_runner(path)
    if want == "litert" and fmt == "tflite":
        return _tflite_runner(path)
    if want == "openvino" and fmt in ("openvino", "onnx"):
        return _ov_runner(path, fmt)
    if want == "torch" and fmt in ("pt2", "torchscript"):
        return _torch_file_runner(path, fmt)
    raise BackendUnavailableError(f"backend {want!r} cannot run {fmt} model {path}",
                                  hint="pick a backend that reads this format, or install edgeport's runtime layer")


def _spec(name: str, shape, dtype: str) -> TensorSpec:
    shape = tuple(d if isinstance(d, int) and d >= 0 else (d if isinstance(d, str) else "?") for d in shape)
    return TensorSpec(name, shape, dtype, guess_layout(shape))


def _ort_runner(path: Path) -> Runner:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    ins = [_spec(i.name, i.shape, _ORT_TYPES.get(i.type, "float32")) for i in sess.get_inputs()]
    outs = [_spec(o.name, o.shape, _ORT_TYPES.get(o.type, "float32")) for o in sess.get_outputs()]
    names = [o.name for o in outs]

    def run(feeds):
        return dict(zip(names, sess.run(names, feeds)))

    return Runner(str(path), "onnx", "onnxruntime", ins, outs, run)


def _tflite_interpreter(path: Path, preserve: bool = False):
    from ai_edge_litert.interpreter import Interpreter

    return Interpreter(model_path=str(path), experimental_preserve_all_tensors=preserve)


def _tflite_invoke(interp, feeds: dict[str, np.ndarray]) -> None:
    details = interp.get_input_details()
    resized = False
    for d in details:
        x = feeds[d["name"]]
        if tuple(x.shape) != tuple(d["shape"]):
            interp.resize_tensor_input(d["index"], list(x.shape))
            resized = True
    interp.allocate_tensors()
    if resized:
        details = interp.get_input_details()
    for d in details:
        interp.set_tensor(d["index"], np.array(feeds[d["name"]], dtype=d["dtype"], order="C"))  # keeps rank 0
    interp.invoke()


def _tflite_runner(path: Path) -> Runner:
    interp = _tflite_interpreter(path)
    interp.allocate_tensors()
    ins = [_spec(d["name"], [int(x) for x in d["shape_signature"]], np.dtype(d["dtype"]).name)
           for d in interp.get_input_details()]
    outs = [_spec(d["name"], [int(x) for x in d["shape_signature"]], np.dtype(d["dtype"]).name)
            for d in interp.get_output_details()]

    def run(feeds):
        _tflite_invoke(interp, feeds)
        return {d["name"]: np.array(interp.get_tensor(d["index"])) for d in interp.get_output_details()}

    return Runner(str(path), "tflite", "litert", ins, outs, run)


def _ov_names(port) -> str:
    names = sorted(port.get_names())
    return names[0] if names else port.get_node().get_friendly_name()


def _ov_runner(path: Path, fmt: str) -> Runner:
    import openvino as ov

    core = ov.Core()
    model = core.read_model(str(path))
    compiled = core.compile_model(model, "CPU")
    ins = [_spec(_ov_names(p), [d.get_length() if d.is_static else "?" for d in p.get_partial_shape()],
                 p.get_element_type().to_dtype().name) for p in model.inputs]
    outs = [_spec(_ov_names(p), [d.get_length() if d.is_static else "?" for d in p.get_partial_shape()],
                  p.get_element_type().to_dtype().name) for p in model.outputs]
    in_names = [s.name for s in ins]

    def run(feeds):
        res = compiled([feeds[n] for n in in_names])
        return {_ov_names(port): np.array(v) for port, v in res.items()}

    return Runner(str(path), fmt, "openvino", ins, outs, run)


def _torch_file_runner(path: Path, fmt: str) -> Runner:
    import torch

    if fmt == "pt2":
        ep = torch.export.load(str(path))
        specs = []
        by_name = {n.name: n for n in ep.graph.nodes if n.op == "placeholder"}
        for name in ep.graph_signature.user_inputs:
            val = by_name[name].meta.get("val") if name in by_name else None
            if val is None:
                continue
            shape = [int(d) if isinstance(d, int) or str(d).isdigit() else str(d) for d in val.shape]
            specs.append(_spec(name, shape, str(val.dtype).replace("torch.", "")))
        r = _torch_module_runner(ep.module(), label=str(path))
        r.inputs = specs or None
    else:
        r = _torch_module_runner(torch.jit.load(str(path), map_location="cpu"), label=str(path))
    r.format = fmt
    return r


def _torch_module_runner(module, label: str) -> Runner:
    import torch

    def run(feeds):
        arrays = list(feeds.values()) if isinstance(feeds, dict) else list(feeds)
        with torch.no_grad():
            out = module(*[torch.from_numpy(np.array(a, order="C")) for a in arrays])
        flat = _flatten(out)
        return {f"output_{i}": t.detach().cpu().numpy() for i, t in enumerate(flat)}

    try:
        module.eval()
    except (AttributeError, NotImplementedError):  # exported modules refuse eval()
        pass
    return Runner(label, "torch", "torch", None, None, run)


def _flatten(out) -> list:
    if isinstance(out, (list, tuple)):
        return [t for o in out for t in _flatten(o)]
    if isinstance(out, dict):
        return [t for o in out.values() for t in _flatten(o)]
    return [out]


# --------------------------------------------------------------------------- intermediates

def _onnx_intermediates(path: Path, feeds: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], list[Layer]]:
    import onnx
    import onnxruntime as ort

    model = onnx.load(str(path))
    try:
        model = onnx.shape_inference.infer_shapes(model)
    except Exception:  # noqa: BLE001 - inference is a help, not a must
        pass
    g = model.graph
    typed = {v.name: v for v in list(g.value_info) + list(g.output) + list(g.input)}
    existing = {o.name for o in g.output}
    order: list[Layer] = []
    for node in g.node:
        for out in node.output:
            if not out:
                continue
            order.append(Layer(out, f"{node.op_type} ({node.name})" if node.name else node.op_type))
            if out in existing:
                continue
            vi = typed.get(out)
            if vi is None or not vi.type.HasField("tensor_type"):
                continue
            new = g.output.add()
            new.CopyFrom(vi)
            existing.add(out)
    with tempfile.TemporaryDirectory(prefix="edgeport-verify-") as tmp:
        tmp_path = Path(tmp) / "all_outputs.onnx"
        onnx.save(model, str(tmp_path), save_as_external_data=model.ByteSize() > 1_500_000_000)
        sess = ort.InferenceSession(str(tmp_path), providers=["CPUExecutionProvider"])
        names = [o.name for o in sess.get_outputs()]
        in_names = {i.name for i in sess.get_inputs()}
        values = dict(zip(names, sess.run(names, {k: v for k, v in feeds.items() if k in in_names})))
    return values, [layer for layer in order if layer.name in values]


def _tflite_intermediates(path: Path, feeds: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], list[Layer]]:
    interp = _tflite_interpreter(path, preserve=True)
    _tflite_invoke(interp, feeds)
    details = {d["index"]: d for d in interp.get_tensor_details()}
    values: dict[str, np.ndarray] = {}
    order: list[Layer] = []
    for op in interp._get_ops_details():  # execution order
        for idx in op.get("outputs", []):
            d = details.get(int(idx))
            if d is None or d["name"] in values:
                continue
            try:
                arr = np.array(interp.get_tensor(int(idx)))
            except ValueError:
                continue
            scale, zero = d.get("quantization", (0.0, 0))
            if scale and arr.dtype.kind in "iu":
                arr = (arr.astype(np.float32) - zero) * scale
            values[d["name"]] = arr
            order.append(Layer(d["name"], op.get("op_name", "?")))
    return values, order


def _ov_intermediates(path: Path, feeds: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], list[Layer]]:
    import openvino as ov

    core = ov.Core()
    model = core.read_model(str(path))
    order: list[Layer] = []
    ports = []
    skip = {"Parameter", "Constant", "Result"}
    for op in model.get_ordered_ops():
        if op.get_type_name() in skip:
            continue
        for port in op.outputs():
            names = sorted(port.get_names())
            if names:
                ports.append(port)
                order.append(Layer(names[0], f"{op.get_type_name()} ({op.get_friendly_name()})"))
    if ports:
        model.add_outputs(ports)
    compiled = core.compile_model(model, "CPU")
    in_names = [_ov_names(p) for p in model.inputs]
    res = compiled([feeds[n] for n in in_names])
    values = {}
    for port, v in res.items():
        for n in port.get_names():
            values.setdefault(n, np.array(v))
    return values, [layer for layer in order if layer.name in values]


_INTERMEDIATES = {"onnx": _onnx_intermediates, "tflite": _tflite_intermediates, "openvino": _ov_intermediates}

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
