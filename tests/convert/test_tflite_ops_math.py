"""Gemm/MatMul, reductions, Softmax, ArgMax, Resize, LayerNormalization, Gelu, TopK vs ONNX Runtime."""

import numpy as np
import pytest
from onnx import helper

from test_tflite_util import assert_matches_ort, make_model, tflite_ops

rng = np.random.default_rng(4)


def test_gemm_variants():
    a = rng.standard_normal((3, 5)).astype(np.float32)
    b = rng.standard_normal((5, 4)).astype(np.float32)
    c = rng.standard_normal(4).astype(np.float32)
    m = make_model([helper.make_node("Gemm", ["a", "b", "c"], ["y"], alpha=0.5, beta=2.0),
                    helper.make_node("Gemm", ["a", "a"], ["z"], transB=1)],
                   [("a", [3, 5])], [("y", None), ("z", None)], {"b": b, "c": c})
    blob = assert_matches_ort(m, {"a": a})
    assert set(tflite_ops(blob)) == {"FULLY_CONNECTED", "BATCH_MATMUL"}


def test_matmul_3d_const_and_batched():
    w = rng.standard_normal((8, 6)).astype(np.float32)
    m = make_model([helper.make_node("MatMul", ["x", "w"], ["h"]),
                    helper.make_node("Transpose", ["h"], ["ht"], perm=[0, 2, 1]),
                    helper.make_node("MatMul", ["h", "ht"], ["y"])],
                   [("x", [2, 3, 8])], [("y", None)], {"w": w})
    assert_matches_ort(m, {"x": rng.standard_normal((2, 3, 8)).astype(np.float32)}, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("op", ["ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin"])
@pytest.mark.parametrize("keep", [0, 1])
def test_reduce(op, keep):
    x = rng.standard_normal((1, 3, 4, 5)).astype(np.float32)
    m = make_model([helper.make_node("Conv", ["x", "w"], ["h"]), helper.make_node(op, ["h", "axes"], ["y"],
                                                                                  keepdims=keep)],
                   [("x", [1, 3, 4, 5])], [("y", None)], {"w": rng.standard_normal((3, 3, 1, 1)).astype(np.float32),
                                                          "axes": np.array([1, 3], np.int64)}, opset=18)
    assert_matches_ort(m, {"x": x})


@pytest.mark.parametrize("axis", [1, 2, -1])
def test_softmax_axes_after_conv(axis):
    x = rng.standard_normal((1, 3, 4, 5)).astype(np.float32)
    m = make_model([helper.make_node("Conv", ["x", "w"], ["h"]), helper.make_node("Softmax", ["h"], ["y"], axis=axis)],
                   [("x", [1, 3, 4, 5])], [("y", None)], {"w": rng.standard_normal((3, 3, 1, 1)).astype(np.float32)})
    blob = assert_matches_ort(m, {"x": x})
    if axis == 1:
        assert tflite_ops(blob) == ["CONV_2D", "SOFTMAX"]  # channels are the last axis in NHWC


def test_softmax_opset11_flatten_semantics():
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    m = make_model([helper.make_node("Softmax", ["x"], ["y"], axis=1)], [("x", [2, 3, 4])], [("y", None)], opset=11)
    assert_matches_ort(m, {"x": x})


def test_argmax_topk():
    x = rng.standard_normal((2, 7)).astype(np.float32)
    m = make_model([helper.make_node("ArgMax", ["x"], ["am"], axis=1, keepdims=1),
                    helper.make_node("TopK", ["x", "k"], ["v", "i"], axis=-1)],
                   [("x", [2, 7])], [("am", None), ("v", None), ("i", None)], {"k": np.array([3], np.int64)})
    assert_matches_ort(m, {"x": x})


@pytest.mark.parametrize("attrs", [
    {"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"},
    {"mode": "nearest"},
    {"mode": "linear", "coordinate_transformation_mode": "half_pixel"},
    {"mode": "linear", "coordinate_transformation_mode": "align_corners"},
])
def test_resize(attrs):
    x = rng.standard_normal((1, 3, 4, 5)).astype(np.float32)
    m = make_model([helper.make_node("Resize", ["x", "", "sc"], ["y"], **attrs)], [("x", [1, 3, 4, 5])],
                   [("y", None)], {"sc": np.array([1, 1, 2, 2], np.float32)})
    blob = assert_matches_ort(m, {"x": x})
    assert "TRANSPOSE" not in tflite_ops(blob)


def test_layernorm_gelu():
    x = rng.standard_normal((2, 5, 8)).astype(np.float32)
    m = make_model([helper.make_node("LayerNormalization", ["x", "s", "b"], ["ln"], axis=-1, epsilon=1e-5),
                    helper.make_node("Gelu", ["ln"], ["y"])],
                   [("x", [2, 5, 8])], [("y", None)],
                   {"s": rng.standard_normal(8).astype(np.float32), "b": rng.standard_normal(8).astype(np.float32)},
                   opset=20)
    blob = assert_matches_ort(m, {"x": x}, atol=1e-4)
    assert "GELU" in tflite_ops(blob)
