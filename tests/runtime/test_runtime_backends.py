"""Each backend runs the same tiny model and agrees with numpy / ONNX Runtime."""

from __future__ import annotations

import numpy as np
import pytest

from edgeport.errors import InputMismatchError
from edgeport.runtime import load
from tests.runtime.runtime_models import B, C, W, mlp_reference
from tests.support.tflite_builder import fc_add_reference

X = np.random.default_rng(7).standard_normal((3, 3)).astype(np.float32)


def test_openvino_reads_onnx_and_matches_ort(models):
    ref = load(models["onnx"]).run({"x": X})["y"]
    sess = load(models["onnx"], backend="openvino", threads=1)
    assert sess.backend == "openvino" and sess.accelerator == "cpu"
    assert sess.inputs[0].name == "x" and sess.inputs[0].shape == ("?", 3)
    out = sess.run({"x": X})
    np.testing.assert_allclose(out["y"], ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(sess.run({"x": X[:1]})["y"], ref[:1], rtol=1e-5, atol=1e-6)  # dynamic batch
    assert sess.raw.get_property("INFERENCE_NUM_THREADS") == 1


def test_openvino_ir(ov_model):
    sess = load(ov_model)
    assert sess.backend == "openvino" and sess.format == "openvino"
    np.testing.assert_allclose(sess.run(X)["y"], mlp_reference(X), rtol=1e-5, atol=1e-6)
    with pytest.raises(InputMismatchError, match="'x'"):
        sess.run({"x": X.astype(np.float64)})


def test_litert_matches_numpy_and_resizes_dynamic_batch(tflite_model):
    sess = load(tflite_model, threads=1)
    assert sess.backend == "litert" and sess.accelerator == "cpu"
    assert sess.inputs[0].shape == ("?", 3) and sess.outputs[0].name == "y"
    a = sess.run({"x": X})["y"]
    np.testing.assert_allclose(a, fc_add_reference(X, W, B, C), rtol=1e-5, atol=1e-5)
    b = sess.run({"x": X[:1]})["y"]  # resize to batch 1
    np.testing.assert_allclose(b, fc_add_reference(X[:1], W, B, C), rtol=1e-5, atol=1e-5)
    assert a.shape == (3, 4)  # the earlier result is a copy, not a view overwritten by the later run
    np.testing.assert_allclose(a, fc_add_reference(X, W, B, C), rtol=1e-5, atol=1e-5)


def test_openvino_reads_tflite(tflite_model):
    sess = load(tflite_model, backend="openvino")
    out = sess.run(X)
    np.testing.assert_allclose(next(iter(out.values())), fc_add_reference(X, W, B, C), rtol=1e-5, atol=1e-5)


def test_torch_pt2_has_signature_and_matches(torch_models):
    sess = load(torch_models["pt2"], threads=1)
    assert sess.backend == "torch" and sess.format == "pt2"
    assert sess.inputs[0].name == "x" and sess.inputs[0].dtype == "float32"
    assert len(sess.inputs[0].shape) == 2 and isinstance(sess.inputs[0].shape[0], str)  # dynamic batch
    np.testing.assert_allclose(next(iter(sess.run({"x": X}).values())), mlp_reference(X), rtol=1e-5, atol=1e-6)
    with pytest.raises(InputMismatchError, match="'x'.*rank 2"):
        sess.run({"x": X[0]})


def test_torchscript_matches(torch_models):
    import torch

    before = torch.get_num_threads()
    sess = load(torch_models["torchscript"], threads=1)
    assert sess.format == "torchscript" and [s.name for s in sess.inputs] == ["x"]
    out = sess.run({"x": X})
    assert list(out) == ["output_0"]
    np.testing.assert_allclose(out["output_0"], mlp_reference(X), rtol=1e-5, atol=1e-6)
    assert torch.get_num_threads() == before  # threads applied only during run
    with pytest.raises(InputMismatchError, match="missing"):
        sess.run({"y": X})


def test_cli_needs_inputs_for_torchscript(torch_models, tmp_path, capsys):
    from edgeport.cli.app import main

    assert load(torch_models["torchscript"]).unknown_shapes == ["x"]
    assert load(torch_models["pt2"]).unknown_shapes == []
    assert main(["run", str(torch_models["torchscript"])]) == 2
    assert "--input" in capsys.readouterr().err
    np.save(tmp_path / "x.npy", X)
    assert main(["run", str(torch_models["torchscript"]), "--input", f"x={tmp_path / 'x.npy'}", "--json"]) == 0
    assert '"output_0"' in capsys.readouterr().out


def test_damaged_files_are_refused_before_native_code(tflite_model, ov_model, tmp_path):
    """check_file runs first: a truncated .tflite or an .xml whose .bin is missing is a ModelFormatError."""
    from edgeport.errors import ModelFormatError

    cut = tmp_path / "cut.tflite"
    cut.write_bytes(tflite_model.read_bytes()[: len(tflite_model.read_bytes()) // 2])
    with pytest.raises(ModelFormatError, match="cut.tflite"):
        load(cut)
    xml = tmp_path / "lonely.xml"
    xml.write_bytes(ov_model.read_bytes())  # no .bin beside it
    with pytest.raises(ModelFormatError):
        load(xml)


def test_cnn_onnxruntime_vs_openvino(models):
    """Conv/MaxPool/Reshape/MatMul/Softmax: OpenVINO (f32 on CPU) agrees with ONNX Runtime; layout guessed."""
    x = np.random.default_rng(11).standard_normal((2, 1, 12, 12)).astype(np.float32)
    ort_sess, ov_sess = load(models["cnn"]), load(models["cnn"], backend="openvino", threads=1)
    assert ort_sess.inputs[0].layout == "NCHW"
    a, b = ort_sess.run(x)["probs"], ov_sess.run(x)["probs"]
    assert a.shape == (2, 10)
    np.testing.assert_allclose(a.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-6)
