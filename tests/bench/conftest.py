"""Fixtures for the bench tests: tiny ONNX models written with onnx.helper (no network, milliseconds)."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper


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


def tiny_tflite_model(path, n: int = 16):
    """x[1,n] float32 -> RELU -> y[1,n], written with the TFLite schema's object API (no TensorFlow)."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as s

    def tensor(name, buf):
        t = s.TensorT()
        t.name, t.shape, t.type, t.buffer = name, [1, n], s.TensorType.FLOAT32, buf
        return t

    code = s.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = s.BuiltinOperator.RELU
    code.version = 1
    op = s.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = 0, [0], [1]
    sg = s.SubGraphT()
    sg.tensors, sg.inputs, sg.outputs, sg.operators, sg.name = [tensor("x", 1), tensor("y", 2)], [0], [1], [op], "main"
    model = s.ModelT()
    model.version, model.operatorCodes, model.subgraphs = 3, [code], [sg]
    model.buffers = [s.BufferT(), s.BufferT(), s.BufferT()]
    model.description = "tiny relu"
    b = flatbuffers.Builder(1024)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    with open(path, "wb") as f:
        f.write(b.Output())
    return path


@pytest.fixture
def tiny_tflite(tmp_path):
    return tiny_tflite_model(tmp_path / "tiny.tflite")
