"""Accelerators: a missing or partial one falls back to the CPU, recorded and warned; strict raises.

This machine has no GPU/NPU for any backend, so every named accelerator must fall back, and the
session must still compute the right numbers on the CPU.
"""

from __future__ import annotations

import gc
import logging
import warnings

import numpy as np
import pytest

from edgeport.errors import BackendUnavailableError
from edgeport.runtime import Fallback, load
from tests.runtime.runtime_models import B, C, W, mlp_reference
from tests.support.tflite_builder import fc_add_reference

X = np.random.default_rng(3).standard_normal((2, 3)).astype(np.float32)


def _has_gpu(backend: str) -> bool:
    if backend == "onnxruntime":
        import onnxruntime as ort
        return "CUDAExecutionProvider" in ort.get_available_providers()
    if backend == "openvino":
        import openvino as ov
        return any(d.startswith("GPU") for d in ov.Core().available_devices)
    if backend == "torch":
        import torch
        return torch.cuda.is_available()
    return False  # litert: decided by trying, see test_litert_gpu_fallback_reason


class _Models:
    """Lazy: a backend's model is built only when a test asks for it (torch export is the slow one)."""

    def __init__(self, request):
        self.request = request

    def __getitem__(self, backend: str):
        get = self.request.getfixturevalue
        return {"onnxruntime": lambda: get("models")["onnx"], "openvino": lambda: get("ov_model"),
                "litert": lambda: get("tflite_model"), "torch": lambda: get("torch_models")["pt2"]}[backend]()


@pytest.fixture
def model_for(request):
    return _Models(request)


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino", "litert", "torch"])
def test_named_gpu_falls_back_with_warning_and_record(backend, model_for):
    if _has_gpu(backend):
        pytest.skip(f"{backend} has a GPU here")
    with pytest.warns(RuntimeWarning, match="fell back to cpu"):
        sess = load(model_for[backend], accelerator="gpu")
    assert sess.accelerator == "cpu"
    assert len(sess.fallbacks) == 1
    fb = sess.fallbacks[0]
    assert isinstance(fb, Fallback) and fb.requested == "gpu" and fb.used == "cpu" and fb.reason
    out = next(iter(sess.run({sess.inputs[0].name: X}).values()))
    ref = fc_add_reference(X, W, B, C) if backend == "litert" else mlp_reference(X)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino", "litert", "torch"])
def test_strict_raises(backend, model_for):
    if _has_gpu(backend):
        pytest.skip(f"{backend} has a GPU here")
    with pytest.raises(BackendUnavailableError, match="gpu"):
        load(model_for[backend], accelerator="gpu", strict=True)


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino", "litert", "torch"])
def test_auto_and_cpu_are_quiet(backend, model_for, caplog):
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        for acc in ("auto", "cpu"):
            sess = load(model_for[backend], accelerator=acc)
            if not _has_gpu(backend):
                assert sess.accelerator == "cpu" and sess.fallbacks == []


def test_ort_reason_names_provider(models):
    with pytest.warns(RuntimeWarning):
        sess = load(models["onnx"], accelerator="tensorrt")
    assert "TensorrtExecutionProvider" in sess.fallbacks[0].reason
    with pytest.warns(RuntimeWarning):
        sess = load(models["onnx"], accelerator="npu")
    assert "NPU" in sess.fallbacks[0].reason


def test_litert_gpu_fallback_reason(tflite_model, capfd):
    with pytest.warns(RuntimeWarning):
        sess = load(tflite_model, accelerator="gpu")
    reason = sess.fallbacks[0].reason
    assert "GPU" in reason and len(reason) > 20
    assert "delegate_webgpu" not in capfd.readouterr().err  # native log captured into the reason, not spilled


def test_openvino_partial_device_lists_unsupported_ops(models, monkeypatch, caplog):
    """A device that exists but supports part of the graph: HETERO and a record naming the ops.

    No GPU here, so the device list and query_model are stubbed; the rest (placement, record,
    compile on the HETERO fallback path, numbers) is real.
    """
    import openvino as ov

    real_query = ov.Core.query_model
    relu_names = {op.get_friendly_name() for op in ov.Core().read_model(str(models["onnx"])).get_ordered_ops()
                  if op.get_type_name() == "Relu"}

    def fake_query(self, model, device, *a, **k):
        supported = real_query(self, model, "CPU")
        return {n: device for n in supported if n not in relu_names} if device == "GPU" else supported

    monkeypatch.setattr(ov.Core, "available_devices", property(lambda self: ["CPU", "GPU"]))
    monkeypatch.setattr(ov.Core, "query_model", fake_query)
    with caplog.at_level(logging.INFO, logger="edgeport.runtime"), warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # auto: recorded and logged, never warned
        sess = load(models["onnx"], backend="openvino", accelerator="auto")
    partial, failed = sess.fallbacks  # GPU takes all but Relu; then compiling HETERO fails here (no GPU)
    assert partial.requested == "auto" and partial.ops == ("Relu",) and "HETERO:GPU,CPU" in partial.reason
    assert "HETERO:GPU,CPU" in failed.reason and "compiling" in failed.reason
    assert sess.accelerator == "cpu"
    assert any("Relu" in r.getMessage() for r in caplog.records)
    with warnings.catch_warnings(record=True) as caught:  # named: warned
        warnings.simplefilter("always")
        load(models["onnx"], backend="openvino", accelerator="gpu")
    assert any(issubclass(w.category, RuntimeWarning) and "Relu" in str(w.message) for w in caught)
    with pytest.raises(BackendUnavailableError, match="Relu"):
        load(models["onnx"], backend="openvino", accelerator="gpu", strict=True)
    np.testing.assert_allclose(sess.run(X)["y"], mlp_reference(X), rtol=1e-5, atol=1e-6)


def test_litert_compiled_model_path(tflite_model, monkeypatch):
    """The accelerator run path (CompiledModel + TensorBuffers), exercised on LiteRT's CPU accelerator."""
    from ai_edge_litert import compiled_model
    from ai_edge_litert.hardware_accelerator import HardwareAccelerator as HW

    real = compiled_model.CompiledModel.from_file.__func__
    monkeypatch.setattr(compiled_model.CompiledModel, "from_file",
                        classmethod(lambda cls, path, hardware_accel=None, **k: real(cls, path, hardware_accel=HW.CPU)))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        sess = load(tflite_model, accelerator="gpu")
    assert sess.accelerator == "gpu" and sess.fallbacks == []
    x = X[:1]
    np.testing.assert_allclose(sess.run({"x": x})["y"], fc_add_reference(x, W, B, C), rtol=1e-5, atol=1e-5)
    sess.close()
    gc.collect()  # free the LiteRT environment now (its shutdown log is captured here, not printed at exit)
