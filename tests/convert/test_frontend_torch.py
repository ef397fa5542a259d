"""torch_to_onnx: a small CNN (nn.Module and .pt2) exported through the dynamo exporter, checked with verify()
against the module itself; the TorchScript fallback; error mapping; litert-torch availability."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

torch = pytest.importorskip("torch")

from edgeport.convert.frontend_torch import (  # noqa: E402
    litert_torch_available,
    require_litert_torch,
    torch_to_onnx,
)
from edgeport.convert.verify import verify  # noqa: E402
from edgeport.errors import BackendUnavailableError, ConversionError, UsageError  # noqa: E402


class SmallCNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(8)
        self.head = torch.nn.Linear(8, 5)

    def forward(self, x):
        y = torch.nn.functional.silu(self.bn(self.conv(x)))
        return torch.softmax(self.head(y.mean(dim=(2, 3))), dim=-1)


@pytest.fixture(scope="module")
def cnn():
    torch.manual_seed(0)
    m = SmallCNN().eval()
    with torch.no_grad():  # non-trivial BN statistics
        m.bn.running_mean.uniform_(-0.5, 0.5)
        m.bn.running_var.uniform_(0.5, 2.0)
    return m


@pytest.fixture(scope="module")
def exported(cnn, tmp_path_factory):
    out = tmp_path_factory.mktemp("torch") / "cnn.onnx"
    res = torch_to_onnx(cnn, (torch.randn(1, 3, 16, 16),), out, input_names=["images"], output_names=["probs"])
    return res


def test_dynamo_export_matches_module(cnn, exported):
    assert exported.exporter == "dynamo" and exported.notes == []
    model = onnx.load(str(exported.path))
    onnx.checker.check_model(model)
    assert [i.name for i in model.graph.input] == ["images"]
    assert [o.name for o in model.graph.output] == ["probs"]
    assert not list(exported.path.parent.glob("*.data")), "one self-contained file"
    r = verify(cnn, exported.path)  # torch module vs ONNX Runtime
    assert r.passed and r.outputs[0].max_rel < 1e-5, r.to_dict()
    x = np.random.default_rng(3).standard_normal((1, 3, 16, 16)).astype(np.float32)
    r = verify(exported.path, cnn, data={"images": x})
    assert r.passed and r.outputs[0].cosine > 0.99999


def test_pt2_file(cnn, tmp_path):
    ep = torch.export.export(cnn, (torch.randn(1, 3, 16, 16),))
    pt2 = tmp_path / "cnn.pt2"
    torch.export.save(ep, str(pt2))
    res = torch_to_onnx(pt2, None, tmp_path / "cnn.onnx")  # example inputs stored in the archive
    assert res.exporter == "dynamo"
    r = verify(pt2, res.path)
    assert r.passed and r.outputs[0].max_rel < 1e-5, r.to_dict()


def test_convert_pt2_to_tflite_is_verified_against_pytorch(cnn, tmp_path):
    from edgeport.convert import convert

    ep = torch.export.export(cnn, (torch.randn(1, 3, 16, 16),))
    pt2 = tmp_path / "cnn.pt2"
    torch.export.save(ep, str(pt2))
    rep = convert(pt2, tmp_path / "cnn.tflite")
    v = rep.verification
    assert v.passed and v.a == str(pt2) and v.backend_a == "torch", v.to_dict()  # end to end, not vs the ONNX
    assert rep.transposes_result == 0


def test_torchscript_fallback_when_dynamo_fails(cnn, tmp_path, monkeypatch):
    import edgeport.convert.frontend_torch as ft

    real = ft._export

    def flaky(model, args, out_path, dynamo, *rest):
        if dynamo:
            raise RuntimeError("aten::frobnicate is not supported")
        return real(model, args, out_path, dynamo, *rest)

    monkeypatch.setattr(ft, "_export", flaky)
    res = torch_to_onnx(cnn, (torch.randn(1, 3, 16, 16),), tmp_path / "ts.onnx", input_names=["images"])
    assert res.exporter == "torchscript"
    assert res.notes and "aten::frobnicate" in res.notes[0] and "TorchScript" in res.notes[0]
    assert verify(cnn, res.path).passed


def test_errors(tmp_path, monkeypatch):
    import edgeport.convert.frontend_torch as ft

    def broken(*a, **k):
        raise RuntimeError("Unsupported: aten::weird_op.default")

    monkeypatch.setattr(ft, "_export", broken)
    out = tmp_path / "x.onnx"
    with pytest.raises(ConversionError) as ei:
        torch_to_onnx(torch.nn.ReLU(), (torch.randn(2),), out)
    assert "aten::weird_op" in ei.value.message and ei.value.hint
    assert not out.exists() and not list(tmp_path.iterdir())  # nothing half-written
    with pytest.raises(UsageError):
        torch_to_onnx(object(), (torch.randn(2),), out)
    with pytest.raises(UsageError):
        torch_to_onnx(torch.nn.ReLU(), None, out)


def test_litert_torch_route():
    if litert_torch_available():
        assert require_litert_torch() is not None
    else:
        with pytest.raises(BackendUnavailableError) as ei:
            require_litert_torch()
        assert "pip install" in ei.value.hint
