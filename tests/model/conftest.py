"""Small model fixtures for the edgeport.model tests, one per format, built by code (session-scoped)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from tests.model.model_fixtures import TinyNet, make_onnx_conv  # noqa: F401
from tests.support import tflite_builder as tflite_fixture


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def onnx_path(model_dir) -> Path:
    return make_onnx_conv(model_dir / "net.onnx")


@pytest.fixture(scope="session")
def onnx_external_path(tmp_path_factory) -> Path:
    return make_onnx_conv(tmp_path_factory.mktemp("ext") / "ext.onnx", external=True)


@pytest.fixture(scope="session")
def openvino_path(model_dir, onnx_path) -> Path:
    ov = pytest.importorskip("openvino")
    out = model_dir / "net.xml"
    ov.save_model(ov.convert_model(str(onnx_path)), str(out), compress_to_fp16=False)
    return out


@pytest.fixture(scope="session")
def tflite_fc_path(model_dir) -> Path:
    path = model_dir / "fc.tflite"
    tflite_fixture.fc_softmax_model(path)
    return path


@pytest.fixture(scope="session")
def tflite_conv_path(model_dir) -> Path:
    path = model_dir / "conv.tflite"
    tflite_fixture.conv_model(path)
    return path


@pytest.fixture(scope="session")
def torchscript_path(model_dir) -> Path:
    torch = pytest.importorskip("torch")
    net, x = TinyNet.make()
    path = model_dir / "net.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit is deprecated, still a format users have
        torch.jit.save(torch.jit.trace(net, x), str(path))
    return path


@pytest.fixture(scope="session")
def pt2_path(model_dir) -> Path:
    torch = pytest.importorskip("torch")
    net, x = TinyNet.make()
    path = model_dir / "net.pt2"
    torch.export.save(torch.export.export(net, (x,)), str(path))
    return path
