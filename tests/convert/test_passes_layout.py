"""The global layout pass: min-cut solver, 0 Transposes for conv nets, I/O layout, Flatten->Gemm weights."""

import numpy as np
import pytest
from onnx import helper

from edgeport.convert.frontend_onnx import onnx_to_ir
from edgeport.convert.tflite.registry import classify
from edgeport.ir.passes import DEFAULT_PIPELINE, run_passes
from edgeport.ir.passes.assign_layout import cheap_relayout, min_cut
from test_tflite_util import assert_matches_ort, make_model, tflite_ops

rng = np.random.default_rng(6)


def _layout(m, io="NHWC"):
    g = run_passes(onnx_to_ir(m), DEFAULT_PIPELINE)
    log = []
    g = run_passes(g, ["assign_layout"], {"assign_layout": {"classify": classify, "io_layout": io}}, log=log)
    return g, log[-1]["changes"]


def test_min_cut_small():
    # s=0, t=1; cut of capacity 3 separates {0, 2} from {3, 1}
    side = min_cut(4, [(0, 2, 5), (2, 3, 3), (3, 1, 7), (0, 3, 0)], 0, 1)
    assert side == [True, False, True, False]


def _convnet():
    w1 = rng.standard_normal((8, 3, 3, 3)).astype(np.float32)
    w2 = rng.standard_normal((8, 8, 3, 3)).astype(np.float32)
    fc = rng.standard_normal((10, 8 * 4 * 4)).astype(np.float32)
    return make_model([
        helper.make_node("Conv", ["x", "w1"], ["c1"], pads=[1, 1, 1, 1]), helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "w2"], ["c2"], pads=[1, 1, 1, 1]),
        helper.make_node("Add", ["c2", "p1"], ["s"]), helper.make_node("Sigmoid", ["s"], ["sg"]),
        helper.make_node("Mul", ["s", "sg"], ["silu"]),
        helper.make_node("Concat", ["silu", "p1"], ["cat"], axis=1),
        helper.make_node("Conv", ["cat", "w3"], ["c3"]),
        helper.make_node("MaxPool", ["c3"], ["p2"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p2"], ["f"]), helper.make_node("Gemm", ["f", "fc"], ["g"], transB=1),
        helper.make_node("Softmax", ["g"], ["y"]),
    ], [("x", [1, 3, 16, 16])], [("y", None)],
        {"w1": w1, "w2": w2, "w3": rng.standard_normal((8, 16, 1, 1)).astype(np.float32), "fc": fc})


def test_convnet_has_no_transpose():
    m = _convnet()
    g, changes = _layout(m)
    assert changes["transposes_inserted"] == 0 and changes["fc_weights_permuted"] == 1
    assert g.inputs[0].layout == "NHWC"
    blob = assert_matches_ort(m, {"x": rng.standard_normal((1, 3, 16, 16)).astype(np.float32)})
    assert "TRANSPOSE" not in tflite_ops(blob)


def test_keep_io_layout_transposes_only_at_the_boundary():
    m = make_model([helper.make_node("Conv", ["x", "w"], ["h"], pads=[1, 1, 1, 1]),
                    helper.make_node("Relu", ["h"], ["y"])],
                   [("x", [1, 3, 8, 8])], [("y", None)], {"w": rng.standard_normal((4, 3, 3, 3)).astype(np.float32)})
    g, changes = _layout(m, io=None)
    assert changes["transposes_inserted"] == 2
    assert g.inputs[0].layout is None and g.outputs[0].name == "y" and g.outputs[0].layout is None
    blob = assert_matches_ort(m, {"x": rng.standard_normal((1, 3, 8, 8)).astype(np.float32)}, keep_io_layout=True)
    assert tflite_ops(blob).count("TRANSPOSE") == 2


def test_layout_change_on_unit_dims_is_free():
    from edgeport.ir import Value

    assert cheap_relayout(Value("a", (1, 64, 1, 1))) and cheap_relayout(Value("b", (1, 1, 4, 320)))
    assert not cheap_relayout(Value("c", (1, 3, 4, 5)))


def test_no_worse_than_transposing_every_boundary():
    # reshape across channels forces one layout change; the solver must not add more
    m = make_model([helper.make_node("Conv", ["x", "w"], ["h"]), helper.make_node("Reshape", ["h", "s"], ["r"]),
                    helper.make_node("Reshape", ["r", "s2"], ["b"]), helper.make_node("Conv", ["b", "w"], ["y"])],
                   [("x", [1, 4, 6, 6])], [("y", None)],
                   {"w": rng.standard_normal((4, 4, 1, 1)).astype(np.float32), "s": np.array([1, 2, 2, 36], np.int64),
                    "s2": np.array([1, 4, 6, 6], np.int64)})
    g, changes = _layout(m)
    assert changes["transposes_inserted"] == 2  # NHWC->NCHW before the reshape, back after it
    assert_matches_ort(m, {"x": rng.standard_normal((1, 4, 6, 6)).astype(np.float32)})


def test_channels_last_input_is_kept_and_its_transpose_vanishes():
    # the source takes NHWC and transposes it to NCHW itself: edgeport keeps the input as is and the
    # source Transpose composes with the layout into a no-op (no TRANSPOSE in the result)
    m = make_model([helper.make_node("Transpose", ["x"], ["t"], perm=[0, 3, 1, 2]),
                    helper.make_node("Conv", ["t", "w"], ["y"], pads=[1, 1, 1, 1])],
                   [("x", [1, 16, 16, 3])], [("y", None)], {"w": rng.standard_normal((8, 3, 3, 3)).astype(np.float32)})
    from edgeport.convert import ConversionReport, onnx_to_tflite

    rep = ConversionReport("m", "m", "onnx", "tflite")
    onnx_to_tflite(m, report=rep)
    assert rep.inputs_after[0].shape == (1, 16, 16, 3)
    blob = assert_matches_ort(m, {"x": rng.standard_normal((1, 16, 16, 3)).astype(np.float32)})
    assert "TRANSPOSE" not in tflite_ops(blob)


def test_conv1d_chain_stays_channels_last():
    # [N,C,L] -> (lifted 2-D convs, relus) -> [N,C,L]: one layout change in, one out, none in between
    ws = {f"w{i}": rng.standard_normal((4, 4, 3)).astype(np.float32) for i in range(3)}
    nodes, prev = [], "x"
    for i in range(3):
        nodes += [helper.make_node("Conv", [prev, f"w{i}"], [f"c{i}"], pads=[1, 1]),
                  helper.make_node("Relu", [f"c{i}"], [f"r{i}"])]
        prev = f"r{i}"
    nodes.append(helper.make_node("Identity", [prev], ["y"]))
    m = make_model(nodes, [("x", [1, 4, 20])], [("y", None)], ws)
    blob = assert_matches_ort(m, {"x": rng.standard_normal((1, 4, 20)).astype(np.float32)}, atol=1e-4)
    assert tflite_ops(blob).count("TRANSPOSE") == 2


def test_spatial_reshape_keeps_channels_last():
    # YOLO head: conv -> [N,C,H*W] -> sigmoid -> concat over anchors: no Transpose until the output
    m = make_model([helper.make_node("Conv", ["x", "w"], ["h"]),
                    helper.make_node("Reshape", ["h", "s"], ["r"]), helper.make_node("Sigmoid", ["r"], ["g"]),
                    helper.make_node("Conv", ["x2", "w"], ["h2"]), helper.make_node("Reshape", ["h2", "s"], ["r2"]),
                    helper.make_node("Concat", ["g", "r2"], ["y"], axis=2)],
                   [("x", [1, 3, 4, 4]), ("x2", [1, 3, 4, 4])], [("y", None)],
                   {"w": rng.standard_normal((6, 3, 1, 1)).astype(np.float32), "s": np.array([1, 6, -1], np.int64)})
    feeds = {k: rng.standard_normal((1, 3, 4, 4)).astype(np.float32) for k in ("x", "x2")}
    blob = assert_matches_ort(m, feeds)
    assert tflite_ops(blob).count("TRANSPOSE") == 1  # once, before the [N, C, A] output
