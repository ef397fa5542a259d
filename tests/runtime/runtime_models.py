"""Tiny models built by code for the runtime tests, and their numpy references."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

RNG = np.random.default_rng(1234)
W = RNG.standard_normal((4, 3)).astype(np.float32)  # [out, in]
B = RNG.standard_normal(4).astype(np.float32)
C = RNG.standard_normal(4).astype(np.float32)


def mlp_reference(x: np.ndarray) -> np.ndarray:
    """y = relu(x @ W.T + B) + C"""
    return np.maximum(x @ W.T + B, 0) + C


def make_mlp_onnx(path: Path, batch="N") -> Path:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 4])
    inits = [numpy_helper.from_array(W.T.copy(), "Wt"), numpy_helper.from_array(B, "B"),
             numpy_helper.from_array(C, "C")]
    nodes = [helper.make_node("MatMul", ["x", "Wt"], ["mm"]), helper.make_node("Add", ["mm", "B"], ["lin"]),
             helper.make_node("Relu", ["lin"], ["r"]), helper.make_node("Add", ["r", "C"], ["y"])]
    m = helper.make_model(helper.make_graph(nodes, "mlp", [x], [y], inits),
                          opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, path)
    return path


def make_two_input_onnx(path: Path) -> Path:
    """z = a * b (float32 [2, 3]) and idx = argmax(a, axis=1) (int64 [2])."""
    a = helper.make_tensor_value_info("a", TensorProto.FLOAT, [2, 3])
    b = helper.make_tensor_value_info("b", TensorProto.FLOAT, [2, 3])
    z = helper.make_tensor_value_info("z", TensorProto.FLOAT, [2, 3])
    i = helper.make_tensor_value_info("idx", TensorProto.INT64, [2])
    nodes = [helper.make_node("Mul", ["a", "b"], ["z"]),
             helper.make_node("ArgMax", ["a"], ["idx"], axis=1, keepdims=0)]
    m = helper.make_model(helper.make_graph(nodes, "two", [a, b], [z, i]), opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, path)
    return path


