"""Element-wise ops (data table + special lowerings) vs ONNX Runtime, in NCHW and NHWC contexts."""

import numpy as np
import onnx
import pytest
from onnx import helper

from test_tflite_util import assert_matches_ort, make_model, tflite_ops

rng = np.random.default_rng(2)
X = rng.standard_normal((1, 3, 5, 6)).astype(np.float32)
POS = (np.abs(X) + 0.1).astype(np.float32)


@pytest.mark.parametrize("op", ["Relu", "Sigmoid", "Tanh", "Exp", "Neg", "Abs", "Floor", "Ceil", "HardSwish",
                                "Elu", "Sin", "Cos", "Softplus", "Round", "Sign"])
def test_unary(op):
    m = make_model([helper.make_node(op, ["x"], ["y"])], [("x", list(X.shape))], [("y", None)])
    assert_matches_ort(m, {"x": X})


@pytest.mark.parametrize("op", ["Log", "Sqrt", "Reciprocal"])
def test_unary_positive(op):
    m = make_model([helper.make_node(op, ["x"], ["y"])], [("x", list(X.shape))], [("y", None)])
    assert_matches_ort(m, {"x": POS})


@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Div", "Min", "Max", "Sum"])
def test_binary_broadcast_const_after_conv(op):
    # conv output is NHWC: the per-channel constant [C,1,1] must be laid out as [1,1,1,C]
    w = rng.standard_normal((4, 3, 1, 1)).astype(np.float32)
    c = (rng.standard_normal((4, 1, 1)) + 3).astype(np.float32)
    m = make_model([helper.make_node("Conv", ["x", "w"], ["h"]), helper.make_node(op, ["h", "c"], ["y"])],
                   [("x", list(X.shape))], [("y", None)], {"w": w, "c": c})
    blob = assert_matches_ort(m, {"x": X})
    assert "TRANSPOSE" not in tflite_ops(blob)


def test_binary_two_inputs_and_compare_where():
    m = make_model([helper.make_node("Less", ["a", "b"], ["m"]), helper.make_node("Where", ["m", "a", "b"], ["y"]),
                    helper.make_node("Pow", ["a", "two"], ["p"]), helper.make_node("Add", ["p", "y"], ["z"])],
                   [("a", [2, 3, 4]), ("b", [2, 3, 4])], [("z", None)], {"two": np.float32(2.0)})
    a, b = rng.standard_normal((2, 2, 3, 4)).astype(np.float32)
    blob = assert_matches_ort(m, {"a": a, "b": b})
    assert "POW" not in tflite_ops(blob)


@pytest.mark.parametrize("lo,hi,expect", [(0.0, 6.0, "RELU6"), (-1.0, 1.0, "RELU_N1_TO_1"), (-0.5, 0.7, "MINIMUM")])
def test_clip(lo, hi, expect):
    m = make_model([helper.make_node("Clip", ["x", "lo", "hi"], ["y"])], [("x", list(X.shape))], [("y", None)],
                   {"lo": np.float32(lo), "hi": np.float32(hi)})
    blob = assert_matches_ort(m, {"x": X * 4})
    assert expect in tflite_ops(blob)


def test_hard_sigmoid_leaky_prelu():
    slope = rng.uniform(0, 0.5, (3, 1, 1)).astype(np.float32)
    m = make_model([helper.make_node("HardSigmoid", ["x"], ["a"], alpha=0.2, beta=0.5),
                    helper.make_node("LeakyRelu", ["x"], ["b"], alpha=0.1),
                    helper.make_node("PRelu", ["x", "s"], ["c"])],
                   [("x", list(X.shape))], [("a", None), ("b", None), ("c", None)], {"s": slope})
    assert_matches_ort(m, {"x": X * 4})


def test_cast_int():
    m = make_model([helper.make_node("Cast", ["x"], ["y"], to=onnx.TensorProto.INT32)],
                   [("x", [2, 3])], [("y", None)])
    assert_matches_ort(m, {"x": np.array([[1.5, -2.0, 3.9], [0, 7, -1.2]], np.float32)})
