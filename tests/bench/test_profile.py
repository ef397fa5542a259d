"""Per-op profile aggregation, and the ORT profile of a tiny model against its graph."""

import onnx
import pytest

from edgeport.bench.profile import ProfileUnavailable, _rows, by_op_type, profile_ops
from edgeport.errors import ModelFormatError
from edgeport.runtime import random_inputs, load


def test_rows_median_per_call_times_calls():
    totals = {("a", "Conv"): [1.0, 1.0, 9.0], ("b", "Relu"): [0.5] * 6}  # 3 runs; b is called twice per run
    rows = _rows(totals, runs=3)
    got = {r.name: r for r in rows}
    assert got["a"].time_ms == 1.0 and got["a"].calls == 1.0  # the 9 ms outlier does not count
    assert got["b"].time_ms == 1.0 and got["b"].calls == 2.0
    assert sum(r.percent for r in rows) == pytest.approx(100.0)
    (t,) = by_op_type(_rows({("a", "Conv"): [1.0], ("c", "Conv"): [3.0]}, runs=1))
    assert t.name == "Conv" and t.time_ms == 4.0 and t.percent == pytest.approx(100.0)


def test_ort_profile_covers_graph_nodes(tiny_onnx):
    with load(str(tiny_onnx), backend="onnxruntime") as s:
        feeds = random_inputs(s.inputs)
    rows = profile_ops(tiny_onnx, "onnxruntime", feeds, runs=3)
    graph_types = {n.op_type for n in onnx.load(str(tiny_onnx)).graph.node}
    prof_types = {r.op_type for r in rows}
    assert {"Conv", "GlobalAveragePool"} <= prof_types
    assert prof_types - {"ReorderInput", "ReorderOutput"} <= graph_types  # ORT's layout reorders besides the graph
    assert all(r.time_ms > 0 and r.calls == 1.0 for r in rows)


def test_unavailable_backends(tiny_onnx):
    with pytest.raises(ModelFormatError, match="not a TFLite model"):  # litert has one now, for .tflite files
        profile_ops(tiny_onnx, "litert", {}, runs=1)
    with pytest.raises(ProfileUnavailable, match="not available"):
        profile_ops(tiny_onnx, "torch", {}, runs=1)
