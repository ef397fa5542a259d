"""Input checking, registry and helpers of edgeport.runtime (ONNX Runtime as the carrier)."""

from __future__ import annotations

import numpy as np
import pytest

import edgeport
from edgeport.errors import BackendUnavailableError, InputMismatchError, ModelFormatError, UsageError
from edgeport.runtime import (Fallback, Session, available_backends, backend_status, backends_for_format, load,
                              random_inputs)
from tests.runtime.runtime_models import mlp_reference


def test_registry_lists_all_four_backends():
    status = backend_status()
    assert set(status) == {"onnxruntime", "litert", "openvino", "torch"}
    assert status["onnxruntime"] is None and "onnxruntime" in available_backends()
    assert backends_for_format("onnx")[0] == "onnxruntime"
    assert "openvino" in backends_for_format("onnx")
    assert backends_for_format("tflite")[0] == "litert"
    assert backends_for_format("openvino") == ["openvino"]
    assert backends_for_format("pt2") == ["torch"] and backends_for_format("torchscript") == ["torch"]


def test_load_and_run_matches_numpy(models):
    sess = edgeport.load(models["onnx"])
    assert isinstance(sess, Session) and sess.backend == "onnxruntime" and sess.accelerator == "cpu"
    assert [s.name for s in sess.inputs] == ["x"] and sess.inputs[0].shape == ("N", 3)
    assert sess.fallbacks == []
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    out = sess.run({"x": x})
    assert list(out) == ["y"]
    np.testing.assert_allclose(out["y"], mlp_reference(x), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(sess.run(x)["y"], out["y"])  # one array for a one-input model


def test_python_lists_become_float32(models):
    sess = load(models["onnx"])
    out = sess.run({"x": [[1.0, 2.0, 3.0]]})["y"]
    np.testing.assert_allclose(out, mlp_reference(np.array([[1, 2, 3]], np.float32)), rtol=1e-5, atol=1e-6)
    out_int = sess.run({"x": [[1, 2, 3]]})["y"]  # python ints -> float32 is safe too
    np.testing.assert_array_equal(out_int, out)


@pytest.mark.parametrize("feeds, words", [
    ({}, ["missing", "'x'"]),
    ({"x": np.zeros((1, 3), np.float32), "extra": np.zeros(1)}, ["unknown", "'extra'"]),
    ({"x": np.zeros((3,), np.float32)}, ["'x'", "rank 2", "rank 1"]),
    ({"x": np.zeros((1, 5), np.float32)}, ["'x'", "(N, 3)", "(1, 5)"]),
    ({"x": np.zeros((1, 3), np.float64)}, ["'x'", "float32", "float64"]),
    ({"x": np.zeros((1, 3), np.int32)}, ["'x'", "float32", "int32"]),
    ({"x": [["a", "b", "c"]]}, ["'x'", "float32"]),
])
def test_input_mismatch_names_input_expected_and_given(models, feeds, words):
    sess = load(models["onnx"])
    with pytest.raises(InputMismatchError) as ei:
        sess.run(feeds)
    msg = ei.value.one_line()
    for w in words:
        assert w in msg, (w, msg)
    assert ei.value.hint


def test_static_shape_checked_and_multi_input(models):
    sess = load(models["onnx_static"])
    with pytest.raises(InputMismatchError, match=r"\(2, 3\).*\(1, 3\)"):
        sess.run({"x": np.zeros((1, 3), np.float32)})
    two = load(models["two"])
    with pytest.raises(InputMismatchError, match="2 inputs"):
        two.run(np.zeros((2, 3), np.float32))
    a = np.array([[1, 5, 2], [7, 0, 1]], np.float32)
    b = np.full((2, 3), 2, np.float32)
    out = two.run({"a": a, "b": b})
    np.testing.assert_array_equal(out["z"], a * b)
    np.testing.assert_array_equal(out["idx"], [1, 0])
    assert out["idx"].dtype == np.int64 and two.outputs[1].dtype == "int64"


def test_random_inputs_seeded_and_dynamic_dims_are_one(models):
    sess = load(models["onnx"])
    a, b = random_inputs(sess.inputs, seed=3), random_inputs(sess.inputs, seed=3)
    assert a["x"].shape == (1, 3) and a["x"].dtype == np.float32
    np.testing.assert_array_equal(a["x"], b["x"])
    assert not np.array_equal(a["x"], random_inputs(sess.inputs, seed=4)["x"])


def test_load_errors(models, tmp_path):
    with pytest.raises(ModelFormatError, match="not found"):
        load(tmp_path / "nope.onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07garbage-not-a-model" * 3)
    with pytest.raises(ModelFormatError, match="bad.onnx"):
        load(bad)
    with pytest.raises(UsageError, match="accelerator"):
        load(models["onnx"], accelerator="warp-drive")
    with pytest.raises(UsageError, match="backend"):
        load(models["onnx"], backend="tensorflow")
    with pytest.raises(UsageError, match="cannot read onnx"):
        load(models["onnx"], backend="litert")
    with pytest.raises(UsageError, match="threads"):
        load(models["onnx"], threads=0)


def test_threads_and_context_manager(models):
    with load(models["onnx"], threads=1) as sess:
        assert sess.threads == 1
        assert sess.raw.get_session_options().intra_op_num_threads == 1
        d = sess.to_dict()
        assert d["backend"] == "onnxruntime" and d["inputs"][0]["name"] == "x"
    assert sess.raw is None


def test_fallback_record_renders():
    fb = Fallback("gpu", "no device", ("Relu", "Add"))
    assert "gpu" in str(fb) and "Relu" in str(fb) and fb.to_dict()["ops"] == ["Relu", "Add"]


def test_missing_package_reported_not_raised(models, monkeypatch):
    from edgeport.runtime.base import backend_class

    ov_cls = backend_class("openvino")
    monkeypatch.setattr(ov_cls, "package", "edgeport_no_such_runtime_pkg")
    status = backend_status()
    assert "edgeport_no_such_runtime_pkg is not installed" in status["openvino"]
    assert "openvino" not in available_backends() and "openvino" not in backends_for_format("onnx")
    assert load(models["onnx"]).backend == "onnxruntime"  # the format's default still works
    with pytest.raises(BackendUnavailableError, match="openvino.*not installed"):
        load(models["onnx"], backend="openvino")


def test_shared_dynamic_dim_must_agree(models):
    sess = load(models["linked"])
    a, b = np.ones((3, 2), np.float32), np.ones((3, 2), np.float32)
    np.testing.assert_array_equal(sess.run({"a": a, "b": b})["s"], a + b)
    with pytest.raises(InputMismatchError, match=r"'N'.*'a' dim 0 = 3.*'b' dim 0 = 2"):
        sess.run({"a": a, "b": b[:2]})


def test_ort_placement_parser_reads_profile(models):
    """The GPU-placement diagnostic parses ORT's profile; on CPU every node is placed on the CPU."""
    import onnxruntime as ort

    sess = load(models["onnx"])
    ops = sess._cpu_placed_ops(ort, ["CPUExecutionProvider"])
    assert ops and set(ops) <= {"MatMul", "Add", "Relu", "Gemm", "FusedMatMul", "FusedGemm"}, ops
