"""Helpers for the converter tests (no tests here): build tiny ONNX models, convert, compare LiteRT vs ORT."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper

__all__ = ["make_model", "parse", "ort_run", "litert_run", "convert_bytes", "assert_matches_ort", "tflite_ops"]


def parse(text: str) -> onnx.ModelProto:
    """An ONNX model from onnx.parser text; checked."""
    m = onnx.parser.parse_model(text)
    onnx.checker.check_model(m, full_check=True)
    return m


def make_model(nodes, inputs, outputs, inits=(), opset=17) -> onnx.ModelProto:
    """inputs/outputs: [(name, shape)] float32 (or (name, shape, elem_type)); inits: {name: array}."""
    def vi(x):
        name, shape, *t = x
        default = onnx.TensorProto.FLOAT if shape is not None else onnx.TensorProto.UNDEFINED
        return helper.make_tensor_value_info(name, t[0] if t else default, shape)
    g = helper.make_graph(nodes, "t", [vi(i) for i in inputs], [vi(o) for o in outputs],
                          [numpy_helper.from_array(np.asarray(v), k) for k, v in dict(inits).items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    m = onnx.shape_inference.infer_shapes(m, strict_mode=True)
    onnx.checker.check_model(m, full_check=True)
    return m


def ort_run(model: onnx.ModelProto, feeds: dict) -> list[np.ndarray]:
    s = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return s.run(None, feeds)


def convert_bytes(model: onnx.ModelProto, **kw) -> bytes:
    from edgeport.convert import onnx_to_tflite
    from edgeport.convert.tflite.flatbuffer import model_to_bytes

    return bytes(model_to_bytes(onnx_to_tflite(model, **kw)))


def litert_run(blob: bytes, feeds: dict) -> dict[str, np.ndarray]:
    """Run through the serving_default signature; 4-D inputs fed NHWC when the model wants that."""
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_content=blob)
    runner = it.get_signature_runner("serving_default")
    det = runner.get_input_details()
    args = {}
    for k, v in feeds.items():
        want = tuple(det[k]["shape"])
        if v.ndim == 4 and tuple(v.shape) != want:
            v = v.transpose(0, 2, 3, 1)
        args[k] = np.ascontiguousarray(v)
    return runner(**args)


def tflite_ops(blob: bytes) -> list[str]:
    from ai_edge_litert import schema_py_generated as s

    m = s.ModelT.InitFromPackedBuf(blob, 0)
    names = {v: k for k, v in vars(s.BuiltinOperator).items() if not k.startswith("_")}
    return [names[max(m.operatorCodes[o.opcodeIndex].builtinCode, m.operatorCodes[o.opcodeIndex].deprecatedBuiltinCode)]
            for o in m.subgraphs[0].operators]


def assert_matches_ort(model: onnx.ModelProto, feeds: dict, rtol=1e-4, atol=1e-5, **kw) -> bytes:
    """Convert, run both, compare every output (NHWC outputs transposed back). Returns the .tflite bytes."""
    blob = convert_bytes(model, **kw)
    ref = ort_run(model, feeds)
    got = litert_run(blob, feeds)
    for o, r in zip(model.graph.output, ref):
        g = got[o.name]
        if g.shape != r.shape and g.ndim == 4:
            g = g.transpose(0, 3, 1, 2)
        assert g.shape == r.shape, (o.name, g.shape, r.shape)
        np.testing.assert_allclose(g, r, rtol=rtol, atol=atol, err_msg=o.name)
    return blob
