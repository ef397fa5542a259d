"""Ops added for ONNX backend coverage, each LiteRT vs ONNX Runtime (or math.erf for Erf): GatherElements,
Trilu, RMSNormalization, Attention, ArgMax/ArgMin select_last_index, Erf, dilated MaxPool, grouped/dilated
ConvTranspose, Pad edge/wrap, Mish precision (fused and from its expanded form)."""

import math

import numpy as np
import onnx
import pytest
from onnx import helper

from edgeport.convert.frontend_onnx import onnx_to_ir
from edgeport.ir.passes import get_pass
from test_tflite_util import assert_matches_ort, convert_bytes, litert_run, make_model, tflite_ops

rng = np.random.default_rng(23)
I64 = onnx.TensorProto.INT64
f32 = lambda *s: rng.standard_normal(s).astype(np.float32)  # noqa: E731


@pytest.mark.parametrize("const_idx", [True, False])
def test_gather_elements(const_idx):
    idx = rng.integers(-4, 4, (3, 5, 2)).astype(np.int64)
    m = make_model([helper.make_node("GatherElements", ["x", "i"], ["y"], axis=1)],
                   [("x", [3, 4, 2])] + ([] if const_idx else [("i", [3, 5, 2], I64)]), [("y", None)],
                   {"i": idx} if const_idx else {})
    feeds = {"x": f32(3, 4, 2)} | ({} if const_idx else {"i": idx})
    assert "GATHER_ND" in tflite_ops(assert_matches_ort(m, feeds))


@pytest.mark.parametrize("upper,k", [(1, 0), (1, 2), (0, -1), (0, 3)])
def test_trilu(upper, k):
    m = make_model([helper.make_node("Trilu", ["x", "k"], ["y"], upper=upper)], [("x", [2, 4, 6])], [("y", None)],
                   {"k": np.array(k, np.int64)})
    x = f32(2, 4, 6)
    x[0, 0, 0] = np.inf  # kept or zeroed, never nan
    assert_matches_ort(m, {"x": x})


def test_rms_normalization():
    m = make_model([helper.make_node("RMSNormalization", ["x", "s"], ["y"], axis=-2, epsilon=1e-3)],
                   [("x", [2, 3, 5, 8])], [("y", None)], {"s": f32(5, 8)}, opset=23)
    assert_matches_ort(m, {"x": f32(2, 3, 5, 8)}, atol=1e-5)


def _attention(inputs, shapes, outputs, inits=(), **attrs):
    return make_model([helper.make_node("Attention", inputs, outputs, **attrs)], shapes,
                      [(o, None) for o in outputs], dict(inits), opset=23)


def test_attention_4d_causal_gqa_softcap():
    m = _attention(["q", "k", "v"], [("q", [2, 4, 5, 8]), ("k", [2, 2, 7, 8]), ("v", [2, 2, 7, 6])], ["y"],
                   is_causal=1, softcap=3.0)
    blob = assert_matches_ort(m, {"q": f32(2, 4, 5, 8), "k": f32(2, 2, 7, 8), "v": f32(2, 2, 7, 6)}, atol=1e-5)
    assert "SOFTMAX" in tflite_ops(blob) and "BATCH_MATMUL" in tflite_ops(blob)


def test_attention_3d_bool_mask_shorter_than_keys():
    mask = rng.random((5, 6)) > 0.3
    mask[2] = False  # a fully hidden row: zeros, as in the reference
    m = _attention(["q", "k", "v", "m"], [("q", [1, 5, 12]), ("k", [1, 7, 12]), ("v", [1, 7, 12])], ["y"],
                   {"m": mask}, q_num_heads=3, kv_num_heads=3, scale=0.2)
    feeds = {"q": f32(1, 5, 12), "k": f32(1, 7, 12), "v": f32(1, 7, 12)}
    blob = convert_bytes(m)
    got = litert_run(blob, feeds)["y"]
    from onnx.reference import ReferenceEvaluator

    ref = ReferenceEvaluator(m).run(None, feeds)[0]
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-5)
    assert np.all(got[0, 2] == 0)


def test_attention_past_cache_float_mask_and_outputs():
    m = _attention(["q", "k", "v", "m", "pk", "pv"],
                   [("q", [1, 2, 3, 4]), ("k", [1, 2, 3, 4]), ("v", [1, 2, 3, 4]), ("m", [1, 2, 3, 5]),
                    ("pk", [1, 2, 2, 4]), ("pv", [1, 2, 2, 4])], ["y", "pres_k", "pres_v", "qk"],
                   is_causal=1, qk_matmul_output_mode=3)
    feeds = {k: f32(*s) for k, s in (("q", (1, 2, 3, 4)), ("k", (1, 2, 3, 4)), ("v", (1, 2, 3, 4)),
                                      ("m", (1, 2, 3, 5)), ("pk", (1, 2, 2, 4)), ("pv", (1, 2, 2, 4)))}
    assert_matches_ort(m, feeds, atol=1e-5)


@pytest.mark.parametrize("op", ["ArgMax", "ArgMin"])
@pytest.mark.parametrize("keepdims", [0, 1])
def test_arg_select_last_index(op, keepdims):
    x = rng.integers(0, 3, (3, 6, 4)).astype(np.float32)  # many ties
    m = make_model([helper.make_node(op, ["x"], ["y"], axis=1, keepdims=keepdims, select_last_index=1)],
                   [("x", [3, 6, 4])], [("y", None)])
    assert "REVERSE_V2" in tflite_ops(assert_matches_ort(m, {"x": x}))


def test_erf_alone_is_accurate():
    x = np.concatenate([np.linspace(-5, 5, 4001), np.logspace(-20, 0.5, 200), -np.logspace(-20, 0.5, 200)])
    x = x.astype(np.float32)
    m = make_model([helper.make_node("Erf", ["x"], ["y"])], [("x", [x.size])], [("y", None)])
    got = litert_run(convert_bytes(m), {"x": x})["y"]
    ref = np.array([math.erf(float(v)) for v in x])
    assert np.max(np.abs(got - ref) / np.maximum(np.abs(ref), 1e-30)) < 1e-6


@pytest.mark.parametrize("attrs", [{"dilations": [2, 2]},
                                   {"dilations": [2, 3], "strides": [2, 1], "pads": [1, 1, 1, 0]},
                                   {"dilations": [2, 2], "strides": [2, 2], "ceil_mode": 1}])
def test_dilated_max_pool(attrs):
    m = make_model([helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 2], **attrs)], [("x", [1, 3, 11, 12])],
                   [("y", None)])
    assert "MAX_POOL_2D" not in tflite_ops(assert_matches_ort(m, {"x": f32(1, 3, 11, 12)}))


@pytest.mark.parametrize("attrs,out_per_group", [({"group": 2, "strides": [2, 2]}, 2),
                                                 ({"group": 3, "pads": [1, 1, 1, 1]}, 2),
                                                 ({"dilations": [2, 2], "strides": [2, 1]}, 4)])
def test_conv_transpose_groups_dilations(attrs, out_per_group):
    # W is [C, O/g, kh, kw]
    g = attrs.get("group", 1)
    m = make_model([helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], **attrs)], [("x", [1, 6, 5, 7])],
                   [("y", None)], {"w": f32(6, out_per_group, 3, 3), "b": f32(out_per_group * g)})
    assert_matches_ort(m, {"x": f32(1, 6, 5, 7)}, atol=1e-4)


@pytest.mark.parametrize("mode", ["edge", "wrap"])
def test_pad_edge_wrap(mode):
    m = make_model([helper.make_node("Pad", ["x", "p"], ["y"], mode=mode)], [("x", [1, 3, 4, 5])], [("y", None)],
                   {"p": np.array([0, 0, 2, 1, 0, 0, 1, 3], np.int64)}, opset=19)
    assert_matches_ort(m, {"x": f32(1, 3, 4, 5)})


@pytest.mark.parametrize("expanded", [False, True])
def test_mish_precision_near_minus_ten(expanded):
    nodes = ([helper.make_node("Softplus", ["x"], ["s"]), helper.make_node("Tanh", ["s"], ["t"]),
              helper.make_node("Mul", ["x", "t"], ["y"])] if expanded else [helper.make_node("Mish", ["x"], ["y"])])
    m = make_model(nodes, [("x", [4000])], [("y", None)], opset=18)
    if expanded:
        assert get_pass("fuse_mish")(onnx_to_ir(m)).changes == {"fused": 1}
    x = np.concatenate([np.linspace(-12, 12, 3990), [-100, -30, -17, 30, 88, 100, 1e4, -1e4, 0, 1e-6]]).astype(
        np.float32)
    got = litert_run(convert_bytes(m), {"x": x})["y"]
    x64 = x.astype(np.float64)
    ref = x64 * np.tanh(np.logaddexp(0, x64))
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-30)


def test_attention_sliding_window():
    m = _attention(["q", "k", "v"], [("q", [1, 2, 6, 4]), ("k", [1, 2, 6, 4]), ("v", [1, 2, 6, 4])], ["y"],
                   is_causal=1)
    m.graph.node[0].attribute.append(helper.make_attribute("left_window_size", 2))
    m.opset_import[0].version = 24
    feeds = {k: f32(1, 2, 6, 4) for k in ("q", "k", "v")}
    from onnx.reference import ReferenceEvaluator

    got = litert_run(convert_bytes(m, keep_io_layout=True), feeds)["y"]
    np.testing.assert_allclose(got, ReferenceEvaluator(m).run(None, feeds)[0], rtol=1e-4, atol=1e-5)


def test_xor_isnan_isinf_shrink_eyelike_lpnorm():
    B = onnx.TensorProto.BOOL
    m = make_model([helper.make_node("Xor", ["a", "b"], ["x"]), helper.make_node("IsNaN", ["v"], ["n"]),
                    helper.make_node("IsInf", ["v"], ["i"]),
                    helper.make_node("IsInf", ["v"], ["ip"], detect_negative=0),
                    helper.make_node("Shrink", ["v"], ["s"], lambd=0.7, bias=0.2),
                    helper.make_node("EyeLike", ["e"], ["ey"], k=1),
                    helper.make_node("LpNormalization", ["w"], ["l2"], axis=1),
                    helper.make_node("LpNormalization", ["w"], ["l1"], axis=0, p=1)],
                   [("a", [3, 4], B), ("b", [3, 4], B), ("v", [10]), ("e", [3, 5]), ("w", [4, 6])],
                   [(o, None) for o in ("x", "n", "i", "ip", "s", "ey", "l2", "l1")])
    w = f32(4, 6)
    w[:, 2] = 0  # a zero column stays zero under the axis-0 norm
    feeds = {"a": rng.random((3, 4)) > 0.5, "b": rng.random((3, 4)) > 0.5, "e": f32(3, 5), "w": w,
             "v": np.array([np.nan, np.inf, -np.inf, 0.5, -0.69, 0.71, -0.9, 3, 0, -2], np.float32)}
    assert_matches_ort(m, feeds)


@pytest.mark.parametrize("mode", ["linear", "nearest"])
@pytest.mark.parametrize("padding", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align", [0, 1])
def test_grid_sample(mode, padding, align):
    m = make_model([helper.make_node("GridSample", ["x", "g"], ["y"], mode=mode, padding_mode=padding,
                                     align_corners=align)],
                   [("x", [2, 3, 5, 7]), ("g", [2, 4, 6, 2])], [("y", None)], opset=20)
    g = rng.uniform(-1.4, 1.4, (2, 4, 6, 2)).astype(np.float32)  # some points outside the image
    blob = assert_matches_ort(m, {"x": f32(2, 3, 5, 7), "g": g}, keep_io_layout=True, atol=1e-5)
    assert "GATHER_ND" in tflite_ops(blob)


def _rnn_model(op, hidden, gates, direction="forward", layout=0, extra=(), **attrs):
    nd = 2 if direction == "bidirectional" else 1
    L, B, I = 4, 2, 3  # noqa: N806
    xs = [B, L, I] if layout else [L, B, I]
    inits = {"W": f32(nd, gates * hidden, I) * 0.5, "R": f32(nd, gates * hidden, hidden) * 0.5,
             "B": f32(nd, 2 * gates * hidden) * 0.5}
    names = ["X", "W", "R", "B"]
    if "states" in extra:
        hs = [B, nd, hidden] if layout else [nd, B, hidden]
        inits |= {"seq": np.full(B, L, np.int32), "h0": f32(*hs)}
        names += ["seq", "h0"]
        if op == "LSTM":
            inits["c0"] = f32(*hs)
            names.append("c0")
    if "peepholes" in extra:
        inits["P"] = f32(nd, 3 * hidden)
        names.append("P")
    outs = ["Y", "Y_h"] + (["Y_c"] if op == "LSTM" else [])
    node = helper.make_node(op, names, outs, hidden_size=hidden, direction=direction, layout=layout, **attrs)
    return make_model([node], [("X", xs)], [(o, None) for o in outs], inits, opset=14), xs


@pytest.mark.parametrize("op,gates", [("LSTM", 4), ("GRU", 3), ("RNN", 1)])
@pytest.mark.parametrize("direction,layout", [("forward", 0), ("reverse", 1), ("bidirectional", 0)])
def test_recurrent_unrolled(op, gates, direction, layout):
    extra = ("states", "peepholes") if op == "LSTM" else ("states",)
    m, xs = _rnn_model(op, 5, gates, direction, layout, extra)
    feeds = {"X": f32(*xs)}
    if layout == 0:
        blob = assert_matches_ort(m, feeds, keep_io_layout=True, atol=1e-5)
    else:  # ONNX Runtime has no batch-major recurrent kernels: the ONNX reference evaluator instead
        from onnx.reference import ReferenceEvaluator

        blob = convert_bytes(m, keep_io_layout=True)
        got = litert_run(blob, feeds)
        for o, ref in zip(m.graph.output, ReferenceEvaluator(m).run(None, feeds)):
            np.testing.assert_allclose(got[o.name], ref, rtol=1e-4, atol=1e-5, err_msg=o.name)
    assert "FULLY_CONNECTED" in tflite_ops(blob) and "WHILE" not in tflite_ops(blob)


def test_gru_linear_before_reset_and_refusals():
    m, xs = _rnn_model("GRU", 4, 3, linear_before_reset=1)
    assert_matches_ort(m, {"X": f32(*xs)}, keep_io_layout=True, atol=1e-5)
    from edgeport.convert.api import check_onnx

    m, _ = _rnn_model("LSTM", 4, 4, clip=2.0)
    assert [b["reason"] for b in check_onnx(m)] == ["attr:clip"]
