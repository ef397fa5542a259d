"""Conv family: CONV_2D / DEPTHWISE / grouped / padding variants / ConvTranspose vs ONNX Runtime."""

import numpy as np
import pytest
from onnx import helper

from test_tflite_util import assert_matches_ort, make_model, ort_run, tflite_ops

rng = np.random.default_rng(0)


def _conv_model(cin=4, cout=8, k=3, group=1, bias=True, **attrs):
    w = rng.standard_normal((cout, cin // group, k, k)).astype(np.float32)
    inits = {"w": w}
    ins = ["x", "w"]
    if bias:
        inits["b"] = rng.standard_normal(cout).astype(np.float32)
        ins.append("b")
    node = helper.make_node("Conv", ins, ["y"], group=group, **attrs)
    return make_model([node], [("x", [1, cin, 9, 10])], [("y", None)], inits)


@pytest.mark.parametrize("attrs", [
    {}, {"pads": [1, 1, 1, 1]}, {"pads": [0, 1, 2, 1]}, {"strides": [2, 2], "pads": [1, 1, 1, 1]},
    {"dilations": [2, 2], "pads": [2, 2, 2, 2]}, {"auto_pad": "SAME_UPPER", "strides": [2, 2]},
])
def test_conv2d(attrs):
    x = rng.standard_normal((1, 4, 9, 10)).astype(np.float32)
    blob = assert_matches_ort(_conv_model(**attrs), {"x": x})
    assert "CONV_2D" in tflite_ops(blob) and "TRANSPOSE" not in tflite_ops(blob)


def test_depthwise_and_multiplier():
    x = rng.standard_normal((1, 4, 9, 10)).astype(np.float32)
    for cout in (4, 8):
        blob = assert_matches_ort(_conv_model(cout=cout, group=4, pads=[1, 1, 1, 1]), {"x": x})
        assert tflite_ops(blob) == ["DEPTHWISE_CONV_2D"]


def test_grouped_conv():
    # one CONV_2D with a [O, kh, kw, C/g] filter (LiteRT and XNNPACK infer the groups), no SPLIT/CONCATENATION
    x = rng.standard_normal((1, 4, 9, 10)).astype(np.float32)
    blob = assert_matches_ort(_conv_model(cout=6, group=2, bias=False, pads=[1, 1, 1, 1]), {"x": x})
    assert tflite_ops(blob) == ["CONV_2D"]


def test_grouped_conv_dilated_strided_without_xnnpack():
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    m = _conv_model(cin=6, cout=9, group=3, pads=[1, 1, 1, 1], dilations=[2, 2], strides=[2, 1])
    x = rng.standard_normal((1, 6, 9, 10)).astype(np.float32)
    blob = assert_matches_ort(m, {"x": x}, atol=1e-4)
    ref = ort_run(m, {"x": x})[0]
    it = Interpreter(model_content=blob, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    y = it.get_signature_runner()(x=x.transpose(0, 2, 3, 1))["y"].transpose(0, 3, 1, 2)
    np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-4)


def test_grouped_conv_with_fused_relu():
    # the fused RELU rides on the grouped CONV_2D
    m = _conv_model(cin=8, cout=12, group=4)
    m.graph.node[0].output[0] = "c"
    m.graph.node.append(helper.make_node("Relu", ["c"], ["y"]))
    x = rng.standard_normal((1, 8, 9, 10)).astype(np.float32)
    assert_matches_ort(m, {"x": x})


def test_conv_transpose():
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float32)
    for attrs in ({"strides": [2, 2]}, {"strides": [2, 2], "pads": [1, 1, 1, 1]}):
        m = make_model([helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], **attrs)],
                       [("x", [1, 4, 5, 6])], [("y", None)], {"w": w, "b": b})
        blob = assert_matches_ort(m, {"x": rng.standard_normal((1, 4, 5, 6)).astype(np.float32)}, atol=1e-4)
        assert "TRANSPOSE_CONV" in tflite_ops(blob)


@pytest.mark.parametrize("op,attrs,w", [
    ("Conv", {"pads": [1, 2], "strides": [2]}, (5, 4, 4)),
    ("Conv", {"dilations": [2], "group": 2}, (6, 2, 3)),
    ("MaxPool", {"kernel_shape": [3], "strides": [2], "pads": [1, 1]}, None),
    ("AveragePool", {"kernel_shape": [2]}, None),
    ("ConvTranspose", {"strides": [2]}, (4, 3, 3)),
])
def test_1d_ops_lifted_to_2d(op, attrs, w):
    inits = {} if w is None else {"w": rng.standard_normal(w).astype(np.float32)}
    m = make_model([helper.make_node(op, ["x"] + list(inits), ["y"], **attrs)], [("x", [2, 4, 11])], [("y", None)],
                   inits)
    assert_matches_ort(m, {"x": rng.standard_normal((2, 4, 11)).astype(np.float32)}, atol=1e-4)
