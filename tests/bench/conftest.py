"""Fixtures for the bench tests: tiny ONNX models written with onnx.helper (no network, milliseconds)."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from tests.support.tflite_builder import relu_model as tiny_tflite_model  # x[1,16] -> RELU -> y


def tiny_conv_model(path, h: int = 8, w: int = 8, c: int = 1):
    """x[1,c,h,w] -> Conv(4, 3x3, pad 1) -> Relu -> GlobalAveragePool -> Flatten -> y[1,4]; fixed weights."""
    rng = np.random.default_rng(0)
    wt = numpy_helper.from_array(rng.standard_normal((4, c, 3, 3)).astype(np.float32), "w")
    b = numpy_helper.from_array(rng.standard_normal(4).astype(np.float32), "b")
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("GlobalAveragePool", ["r"], ["g"], name="gap"),
        helper.make_node("Flatten", ["g"], ["y"], name="flat"),
    ]
    graph = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c, h, w])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])], [wt, b])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def two_input_model(path):
    """a[1,3] + b[1,3] -> y[1,3]."""
    nodes = [helper.make_node("Add", ["a", "b"], ["y"], name="add")]
    graph = helper.make_graph(nodes, "add2", [helper.make_tensor_value_info("a", TensorProto.FLOAT, [1, 3]),
                                              helper.make_tensor_value_info("b", TensorProto.FLOAT, [1, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


@pytest.fixture
def tiny_onnx(tmp_path):
    return tiny_conv_model(tmp_path / "tiny.onnx")


@pytest.fixture
def add_onnx(tmp_path):
    return two_input_model(tmp_path / "add.onnx")


@pytest.fixture
def tiny_tflite(tmp_path):
    return tiny_tflite_model(tmp_path / "tiny.tflite")
