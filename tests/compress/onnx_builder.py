"""Small ONNX CNNs built with onnx.helper (test fixtures)."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

__all__ = ["onnx_cnn"]


def onnx_cnn(path, seed=0, hw=16, c=16, classes=10, labels_meta=False):
    """x[1,3,H,W] -> Conv c relu -> MaxPool -> Conv 2c relu -> GlobalAveragePool -> Flatten -> Gemm -> Softmax."""
    rng = np.random.default_rng(seed)
    w = lambda *s: numpy_helper.from_array((rng.normal(0, (2 / np.prod(s[1:])) ** 0.5, s)).astype(np.float32))  # noqa: E731
    inits = []

    def init(name, arr):
        t = numpy_helper.from_array(np.asarray(arr, np.float32), name) if not isinstance(arr, onnx.TensorProto) else arr
        t.name = name
        inits.append(t)
        return name

    nodes = [
        helper.make_node("Conv", ["x", init("w1", w(c, 3, 3, 3)), init("b1", rng.normal(0, .1, c))], ["c1"], pads=[1] * 4),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", init("w2", w(2 * c, c, 3, 3)), init("b2", rng.normal(0, .1, 2 * c))], ["c2"], pads=[1] * 4),
        helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("GlobalAveragePool", ["r2"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"]),
        helper.make_node("Gemm", ["f", init("w3", w(classes, 2 * c)), init("b3", rng.normal(0, .1, classes))], ["logits"], transB=1),
        helper.make_node("Softmax", ["logits"], ["probs"], axis=1),
    ]
    g = helper.make_graph(nodes, "cnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, hw, hw])],
                          [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [1, classes])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, str(path))
    return path
