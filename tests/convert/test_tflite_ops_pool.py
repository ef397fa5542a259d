"""Pools, LRN, global pools vs ONNX Runtime (layout NHWC, no Transposes)."""

import numpy as np
import pytest
from onnx import helper

from test_tflite_util import assert_matches_ort, make_model, tflite_ops

rng = np.random.default_rng(1)
X = rng.standard_normal((1, 3, 11, 12)).astype(np.float32)


@pytest.mark.parametrize("op,attrs", [
    ("MaxPool", {"kernel_shape": [2, 2], "strides": [2, 2]}),
    ("MaxPool", {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}),
    ("MaxPool", {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1}),
    ("MaxPool", {"kernel_shape": [5, 5], "strides": [1, 1], "pads": [2, 2, 2, 2]}),
    ("AveragePool", {"kernel_shape": [3, 3], "strides": [1, 1], "pads": [1, 1, 1, 1]}),
    ("AveragePool", {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [0, 0, 1, 1]}),
    ("AveragePool", {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1], "count_include_pad": 1}),
    ("AveragePool", {"kernel_shape": [2, 2], "strides": [2, 2]}),
    ("GlobalAveragePool", {}), ("GlobalMaxPool", {}),
    ("LRN", {"size": 5, "alpha": 1e-3, "beta": 0.75, "bias": 2.0}),
])
def test_pool(op, attrs):
    m = make_model([helper.make_node(op, ["x"], ["y"], **attrs)], [("x", list(X.shape))], [("y", None)])
    blob = assert_matches_ort(m, {"x": X})
    assert "TRANSPOSE" not in tflite_ops(blob)


def test_maxpool_indices_output_unsupported():
    from edgeport.errors import UnsupportedOpError
    from test_tflite_util import convert_bytes

    m = make_model([helper.make_node("MaxPool", ["x"], ["y", "i"], kernel_shape=[2, 2])],
                   [("x", list(X.shape))], [("y", None), ("i", None)])
    with pytest.raises(UnsupportedOpError, match="MaxPool.*output:indices"):
        convert_bytes(m)
