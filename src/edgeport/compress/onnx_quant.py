"""ONNX quantization through onnxruntime.quantization (static QDQ/QOperator, dynamic) and an fp16 cast pass.

Defaults follow ONNX Runtime's advice for x86-64: QDQ, activations uint8, weights int8 (U8S8), which runs
on VNNI/AVX-512 kernels; ``benchmarks/bench_quantize.py`` measures U8S8 against S8S8 on the machine at hand.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np

from edgeport.errors import UsageError

__all__ = ["quantize_onnx", "onnx_fp16"]


class _Reader:
    """onnxruntime CalibrationDataReader over a list of feeds."""

    def __init__(self, feeds: Sequence[dict[str, np.ndarray]]):
        self._it = iter(feeds)

    def get_next(self):
        return next(self._it, None)

    def rewind(self):  # pragma: no cover - not used by the calibrators we call
        pass


def _preprocess(src: Path, tmpdir: Path) -> Path:
    from onnxruntime.quantization.shape_inference import quant_pre_process

    out = tmpdir / "pre.onnx"
    try:
        quant_pre_process(str(src), str(out), skip_symbolic_shape=True)
        return out
    except Exception:  # shape inference is an optimisation, not a requirement
        return src


def quantize_onnx(src, dst, mode: str, feeds=None, *, per_channel: bool = True, method: str = "minmax",
                  percentile: float = 99.99, fmt: str = "qdq", activation_type: str = "uint8",
                  exclude: Sequence[str] = ()) -> None:
    """Write the quantized model to ``dst`` (a path the caller moves into place)."""
    from onnxruntime.quantization import (CalibrationMethod, QuantFormat, QuantType, quantize_dynamic,
                                          quantize_static)

    if mode == "fp16":
        onnx_fp16(src, dst)
        return
    with tempfile.TemporaryDirectory() as td:
        pre = _preprocess(Path(src), Path(td))
        if exclude:
            pre, exclude = _node_names(pre, exclude, Path(td))
        if mode == "dynamic":
            quantize_dynamic(str(pre), str(dst), weight_type=QuantType.QInt8, per_channel=per_channel,
                             nodes_to_exclude=list(exclude))
            return
        methods = {"minmax": CalibrationMethod.MinMax, "percentile": CalibrationMethod.Percentile,
                   "entropy": CalibrationMethod.Entropy}
        if method not in methods:
            raise UsageError(f"unknown calibration method {method!r}", hint="use minmax, percentile or entropy")
        act = {"uint8": QuantType.QUInt8, "int8": QuantType.QInt8}[activation_type]
        extra = {"ActivationSymmetric": False, "WeightSymmetric": True}
        if method == "percentile":
            extra["CalibPercentile"] = percentile
        if mode == "int16x8":
            act, fmt = QuantType.QInt16, "qdq"
            extra["ActivationSymmetric"] = True
        quantize_static(str(pre), str(dst), _Reader(feeds), calibrate_method=methods[method],
                        quant_format=QuantFormat.QDQ if fmt == "qdq" else QuantFormat.QOperator,
                        activation_type=act, weight_type=QuantType.QInt8, per_channel=per_channel,
                        nodes_to_exclude=list(exclude), extra_options=extra)


def _node_names(path: Path, layers: Sequence[str], td: Path) -> tuple[Path, list[str]]:
    """Layers given as tensor names (what diagnosis reports) -> names of the nodes producing them.

    Unnamed nodes get names first (ORT matches nodes_to_exclude by name; all unnamed nodes share "").
    """
    import onnx

    m = onnx.load(str(path))
    if any(not n.name for n in m.graph.node):
        taken = {n.name for n in m.graph.node}
        for i, n in enumerate(m.graph.node):
            if not n.name:
                n.name = f"{n.op_type}_{i}_{n.output[0]}" if f"{n.op_type}_{i}" in taken else f"{n.op_type}_{i}"
        path = td / "named.onnx"
        onnx.save(m, str(path))
    by_out = {o: n for n in m.graph.node for o in n.output}
    names = {n.name for n in m.graph.node}
    out = []
    for ly in layers:
        node = by_out.get(ly)
        out.append(ly if ly in names or node is None else node.name)
        if node is not None and node.op_type in ("Relu", "Clip", "LeakyRelu", "Sigmoid", "HardSwish") and \
                node.input[0] in by_out and by_out[node.input[0]].op_type in ("Conv", "Gemm", "MatMul"):
            out.append(by_out[node.input[0]].name)  # the quantizer fuses them: keep both in float
    return path, out


def onnx_fp16(src, dst, min_elements: int = 16) -> None:
    """float32 initializers stored as float16, each followed by a Cast back to float32 (folded at load time)."""
    import onnx
    from onnx import helper, numpy_helper

    m = onnx.load(str(src))
    g = m.graph
    casts, keep = [], []
    for init in g.initializer:
        if init.data_type != onnx.TensorProto.FLOAT or np.prod(init.dims) < min_elements:
            keep.append(init)
            continue
        arr = numpy_helper.to_array(init).astype(np.float16)
        half = numpy_helper.from_array(arr, init.name + "_fp16")
        keep.append(half)
        casts.append(helper.make_node("Cast", [half.name], [init.name], to=onnx.TensorProto.FLOAT,
                                      name=init.name + "_cast"))
        for i, vi in enumerate(g.input):  # an initializer listed as graph input would shadow the Cast
            if vi.name == init.name:
                del g.input[i]
                break
    del g.initializer[:]
    g.initializer.extend(keep)
    nodes = casts + list(g.node)
    del g.node[:]
    g.node.extend(nodes)
    onnx.save(m, os.fspath(dst))
