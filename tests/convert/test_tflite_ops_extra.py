"""Lowerings found by ONNX's backend suite: composite ops, edge attributes, refusals that prevent wrong files."""

import numpy as np
import onnx
import pytest
from onnx import helper

from edgeport.errors import UnsupportedOpError
from test_tflite_util import assert_matches_ort, convert_bytes, make_model

rng = np.random.default_rng(10)


def test_elu_alpha_softplus_stable_topk_smallest():
    x = (rng.standard_normal((2, 50)) * 60).astype(np.float32)  # large |x|: softplus must not overflow
    m = make_model([helper.make_node("Elu", ["x"], ["e"], alpha=0.3), helper.make_node("Softplus", ["x"], ["s"]),
                    helper.make_node("TopK", ["x", "k"], ["v", "i"], largest=0)],
                   [("x", [2, 50])], [("e", None), ("s", None), ("v", None), ("i", None)], {"k": np.array([4], np.int64)})
    assert_matches_ort(m, {"x": x}, rtol=1e-5, atol=1e-4)


def test_gather_negative_runtime_indices_and_matmul_1d_and_gemm_transA():
    m = make_model([helper.make_node("Gather", ["a", "idx"], ["g"], axis=1),
                    helper.make_node("MatMul", ["v", "a"], ["mv"]),
                    helper.make_node("Gemm", ["at", "w"], ["gm"], transA=1)],
                   [("a", [3, 4]), ("idx", [2], onnx.TensorProto.INT64), ("v", [3]), ("at", [5, 3])],
                   [("g", None), ("mv", None), ("gm", None)], {"w": rng.standard_normal((5, 2)).astype(np.float32)})
    feeds = {"a": rng.standard_normal((3, 4)).astype(np.float32), "idx": np.array([-1, 2], np.int64),
             "v": rng.standard_normal(3).astype(np.float32), "at": rng.standard_normal((5, 3)).astype(np.float32)}
    assert_matches_ort(m, feeds)


@pytest.mark.parametrize("op", ["ReduceL1", "ReduceL2", "ReduceSumSquare", "ReduceLogSumExp"])
def test_composite_reductions(op):
    m = make_model([helper.make_node(op, ["x", "axes"], ["y"], keepdims=0)], [("x", [2, 3, 4])], [("y", None)],
                   {"axes": np.array([-1], np.int64)}, opset=18)
    assert_matches_ort(m, {"x": rng.standard_normal((2, 3, 4)).astype(np.float32)})


def test_depth_to_space_crd_prelu_layernorm_stats():
    c = rng.standard_normal((8, 4, 1, 1)).astype(np.float32)
    m = make_model([helper.make_node("Conv", ["x", "w"], ["h"]),
                    helper.make_node("DepthToSpace", ["h"], ["d"], blocksize=2, mode="CRD"),
                    helper.make_node("PRelu", ["d", "slope"], ["y"]),
                    helper.make_node("LayerNormalization", ["z", "s"], ["ln", "mean", "rstd"], axis=1)],
                   [("x", [1, 4, 3, 5]), ("z", [2, 6])], [("y", None), ("ln", None), ("mean", None), ("rstd", None)],
                   {"w": c, "slope": rng.uniform(0, 1, (2, 1, 1)).astype(np.float32),
                    "s": rng.standard_normal(6).astype(np.float32)})
    assert_matches_ort(m, {"x": rng.standard_normal((1, 4, 3, 5)).astype(np.float32),
                           "z": rng.standard_normal((2, 6)).astype(np.float32)}, atol=1e-4)


def test_constant_output_after_folding():
    m = make_model([helper.make_node("ConstantOfShape", ["shp"], ["c"], value=helper.make_tensor("v", 1, [1], [2.5])),
                    helper.make_node("Relu", ["x"], ["y"])],
                   [("x", [2])], [("c", None), ("y", None)], {"shp": np.array([2, 3], np.int64)})
    assert_matches_ort(m, {"x": np.array([-1, 1], np.float32)})


def test_unquantized_int8_arithmetic_is_refused_not_miscomputed():
    m = make_model([helper.make_node("Mul", ["a", "b"], ["y"])],
                   [("a", [4], onnx.TensorProto.INT8), ("b", [4], onnx.TensorProto.INT8)], [("y", None)])
    with pytest.raises(UnsupportedOpError, match="dtype:int8_unquantized"):
        convert_bytes(m)


@pytest.mark.parametrize("op,attrs", [("Swish", {}), ("Mish", {}), ("Softsign", {}), ("Selu", {}),
                                      ("Celu", {"alpha": 0.7}), ("ThresholdedRelu", {"alpha": 0.5})])
def test_activation_composites(op, attrs):
    opset = 24 if op == "Swish" else 18
    x = (rng.standard_normal((2, 30)) * 5).astype(np.float32)
    m = make_model([helper.make_node(op, ["x"], ["y"], **attrs)], [("x", [2, 30])], [("y", None)], opset=opset)
    try:
        assert_matches_ort(m, {"x": x}, rtol=1e-5, atol=1e-5)
    except Exception as e:  # ONNX Runtime without this op version: the lowering cannot be checked here
        if "NOT_IMPLEMENTED" in str(e) or "not a registered" in str(e) or "opset" in str(e).lower():
            pytest.skip(f"onnxruntime cannot run {op}: {str(e)[:80]}")
        raise


def test_instance_norm_after_conv_cumsum_onehot_hardmax_mod_size():
    m = make_model([helper.make_node("Conv", ["x", "w"], ["h"]),
                    helper.make_node("InstanceNormalization", ["h", "s", "b"], ["y"], epsilon=1e-4),
                    helper.make_node("CumSum", ["v", "ax"], ["cs"], exclusive=1),
                    helper.make_node("OneHot", ["i", "depth", "vals"], ["oh"], axis=-1),
                    helper.make_node("Hardmax", ["v"], ["hm"], axis=1),
                    helper.make_node("Mod", ["i", "three"], ["md"]),
                    helper.make_node("Size", ["v"], ["sz"])],
                   [("x", [1, 3, 5, 6]), ("v", [2, 5]), ("i", [4], onnx.TensorProto.INT64)],
                   [("y", None), ("cs", None), ("oh", None), ("hm", None), ("md", None), ("sz", None)],
                   {"w": rng.standard_normal((4, 3, 1, 1)).astype(np.float32),
                    "s": rng.standard_normal(4).astype(np.float32), "b": rng.standard_normal(4).astype(np.float32),
                    "ax": np.array(1, np.int64), "depth": np.array(5, np.int64),
                    "vals": np.array([0.5, 2.0], np.float32), "three": np.array([3], np.int64)})
    feeds = {"x": rng.standard_normal((1, 3, 5, 6)).astype(np.float32),
             "v": rng.standard_normal((2, 5)).astype(np.float32), "i": np.array([0, 4, -1, 2], np.int64)}
    blob = assert_matches_ort(m, feeds, atol=1e-4)
    from test_tflite_util import tflite_ops

    assert "TRANSPOSE" not in tflite_ops(blob)
