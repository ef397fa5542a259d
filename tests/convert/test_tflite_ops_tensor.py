"""Shape/data movement ops vs ONNX Runtime: Reshape, Transpose, Concat, Split, Slice, Pad, Gather, Tile, Expand."""

import numpy as np
import onnx
import pytest
from onnx import helper

from test_tflite_util import assert_matches_ort, make_model, tflite_ops

rng = np.random.default_rng(3)
X = rng.standard_normal((1, 4, 6, 8)).astype(np.float32)
W = rng.standard_normal((4, 4, 1, 1)).astype(np.float32)


def _after_conv(nodes, outputs, inits=None, **kw):
    """x -> Conv(1x1) -> h -> nodes...: exercises the NHWC path of layout-agnostic ops."""
    return make_model([helper.make_node("Conv", ["x", "w"], ["h"])] + nodes, [("x", list(X.shape))], outputs,
                      {"w": W, **(inits or {})}, **kw)


def test_concat_split_slice_pad_nhwc_no_transpose():
    m = _after_conv([
        helper.make_node("Concat", ["h", "x"], ["c"], axis=1),
        helper.make_node("Split", ["c", "sp"], ["s0", "s1"], axis=1),
        helper.make_node("Slice", ["s1", "st", "en", "ax", "stp"], ["sl"]),
        helper.make_node("Pad", ["sl", "pads"], ["p"]),
        helper.make_node("Conv", ["p", "w2"], ["y"]),
        helper.make_node("Conv", ["s0", "w3"], ["z"]),
    ], [("y", None), ("z", None)], {
        "sp": np.array([3, 5], np.int64), "st": np.array([1, 0], np.int64), "en": np.array([5, 7], np.int64),
        "ax": np.array([1, 3], np.int64), "stp": np.array([1, 2], np.int64),
        "pads": np.array([0, 0, 1, 2, 0, 0, 2, 1], np.int64),
        "w2": rng.standard_normal((2, 4, 3, 3)).astype(np.float32),
        "w3": rng.standard_normal((2, 3, 1, 1)).astype(np.float32)})
    blob = assert_matches_ort(m, {"x": X})
    ops = tflite_ops(blob)
    assert "TRANSPOSE" not in ops and {"CONCATENATION", "SPLIT_V", "STRIDED_SLICE", "PAD"} <= set(ops)


def test_flatten_into_gemm_permutes_weights():
    fc = rng.standard_normal((10, 4 * 6 * 8)).astype(np.float32)
    m = _after_conv([helper.make_node("Relu", ["h"], ["r"]), helper.make_node("Flatten", ["r"], ["f"]),
                     helper.make_node("Gemm", ["f", "fc"], ["y"], transB=1)], [("y", None)], {"fc": fc})
    blob = assert_matches_ort(m, {"x": X})
    assert "TRANSPOSE" not in tflite_ops(blob)


def test_source_transpose_and_reshape():
    m = _after_conv([helper.make_node("Transpose", ["h"], ["t"], perm=[0, 2, 3, 1]),
                     helper.make_node("Reshape", ["t", "shp"], ["y"])], [("y", None)],
                    {"shp": np.array([1, -1, 4], np.int64)})
    blob = assert_matches_ort(m, {"x": X})
    # NCHW->NHWC in the source is exactly the layout the conv output already has: no TRANSPOSE at all
    assert "TRANSPOSE" not in tflite_ops(blob)


def test_gather_tile_expand_squeeze_unsqueeze():
    m = make_model([
        helper.make_node("Gather", ["a", "idx"], ["g"], axis=1),
        helper.make_node("Tile", ["g", "rep"], ["t"]),
        helper.make_node("Unsqueeze", ["t", "ax0"], ["u"]),
        helper.make_node("Expand", ["u", "shp"], ["e"]),
        helper.make_node("Squeeze", ["e", "ax1"], ["y"]),
    ], [("a", [2, 5, 3])], [("y", None)], {
        "idx": np.array([4, -1, 0], np.int64), "rep": np.array([1, 2, 1], np.int64),
        "ax0": np.array([1], np.int64), "shp": np.array([2, 1, 6, 3], np.int64), "ax1": np.array([1], np.int64)})
    assert_matches_ort(m, {"a": rng.standard_normal((2, 5, 3)).astype(np.float32)})


def test_depth_to_space():
    m = _after_conv([helper.make_node("DepthToSpace", ["h"], ["y"], blocksize=2, mode="DCR")], [("y", None)])
    assert_matches_ort(m, {"x": X})
