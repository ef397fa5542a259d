"""Channel shuffle: fused, folded into the producing Conv (dense or grouped), or lowered without GATHER;
every variant compared with ONNX Runtime, plus a Sum+Relu fusion as in ShuffleNet's residual blocks."""

import numpy as np
import pytest
from onnx import helper

from edgeport.convert.frontend_onnx import onnx_to_ir
from edgeport.ir.passes import get_pass, run_passes
from edgeport.ir.passes.fuse_channel_shuffle import shuffle_index
from test_tflite_util import assert_matches_ort, make_model, tflite_ops

rng = np.random.default_rng(11)
C, G = 12, 3


def _shuffle_model(producer: str, conv_group: int = 1):
    """producer -> Relu -> Reshape/Transpose/Reshape (channel shuffle, 3 groups) -> depthwise Conv."""
    nodes, inits = [], {"s1": np.array([1, G, C // G, 6, 7], np.int64), "s2": np.array([1, C, 6, 7], np.int64),
                        "dw": rng.standard_normal((C, 1, 3, 3)).astype(np.float32)}
    if producer == "conv":
        inits["w"] = rng.standard_normal((C, 8 // conv_group, 1, 1)).astype(np.float32)
        inits["b"] = rng.standard_normal(C).astype(np.float32)
        nodes.append(helper.make_node("Conv", ["x", "w", "b"], ["p"], group=conv_group))
        x_shape = [1, 8, 6, 7]
    else:  # no Conv to fold into: the shuffle is lowered on its own
        nodes.append(helper.make_node("Sigmoid", ["x"], ["p"]))
        x_shape = [1, C, 6, 7]
    nodes += [helper.make_node("Relu", ["p"], ["r"]),
              helper.make_node("Reshape", ["r", "s1"], ["a"]),
              helper.make_node("Transpose", ["a"], ["t"], perm=[0, 2, 1, 3, 4]),
              helper.make_node("Reshape", ["t", "s2"], ["sh"]),
              helper.make_node("Conv", ["sh", "dw"], ["y"], group=C, pads=[1, 1, 1, 1])]
    return make_model(nodes, [("x", x_shape)], [("y", [1, C, 6, 7])], inits), x_shape


def test_shuffle_index_is_the_onnx_permutation():
    x = np.arange(C)
    ref = x.reshape(G, C // G).T.reshape(-1)
    assert shuffle_index(C, G).tolist() == ref.tolist()


@pytest.mark.parametrize("group", [1, 4])
def test_shuffle_folded_into_conv(group):
    m, shape = _shuffle_model("conv", group)
    g = run_passes(onnx_to_ir(m), ["fuse_activations", "fuse_channel_shuffle"])
    assert g.op_counts() == {"Conv": 2}
    assert all(n.attrs.get("group", 1) in (1, C) for n in g.nodes)
    blob = assert_matches_ort(m, {"x": rng.standard_normal(shape).astype(np.float32)}, atol=1e-5)
    ops = tflite_ops(blob)
    assert ops == ["CONV_2D", "DEPTHWISE_CONV_2D"], ops


def test_grouped_conv_kept_when_asked():
    m, _ = _shuffle_model("conv", 4)
    g = onnx_to_ir(m)
    r = get_pass("fuse_channel_shuffle")(g, fold_grouped=False)
    assert r.changes == {"fused": 1}
    assert sorted(r.graph.op_counts().items()) == [("ChannelShuffle", 1), ("Conv", 2), ("Relu", 1)]


def test_unfolded_shuffle_lowering_has_no_gather():
    # GATHER is not taken by XNNPACK (it splits the delegate's partition): a 4-D TRANSPOSE is used instead
    m, shape = _shuffle_model("sigmoid")
    blob = assert_matches_ort(m, {"x": rng.standard_normal(shape).astype(np.float32)}, atol=1e-5)
    ops = tflite_ops(blob)
    assert "GATHER" not in ops and ops.count("TRANSPOSE") == 1, ops


def test_sum_relu_fused():
    m = make_model([helper.make_node("Sum", ["x", "z"], ["s"]), helper.make_node("Relu", ["s"], ["y"])],
                   [("x", [1, 4, 5, 6]), ("z", [1, 4, 5, 6])], [("y", None)])
    feeds = {k: rng.standard_normal((1, 4, 5, 6)).astype(np.float32) for k in ("x", "z")}
    blob = assert_matches_ort(m, feeds)
    assert tflite_ops(blob) == ["ADD"]
