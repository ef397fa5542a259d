"""Pruning, clustering and distillation on tiny PyTorch / ONNX models."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import numpy_helper

from edgeport.compress import cluster, distill, prune, prune_channels
from edgeport.compress.cluster import kmeans_1d
from edgeport.compress.prune import sparsity_of
from edgeport.errors import CalibrationDataError, UsageError
from tests.compress.torch_models import TinyCNN, TinyStudent

torch.set_num_threads(1)  # tiny models: threads only fight over the shared CPU


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.random((64, 1, 12, 12)).astype(np.float32)
    y = (x[:, 0, :6].mean((1, 2)) > x[:, 0, 6:].mean((1, 2))).astype(np.int64) * 3  # a learnable rule
    return x, y


def test_magnitude_pruning_reaches_target(data):
    torch.manual_seed(0)
    m = TinyCNN()
    rep = prune(m, 0.7, data, steps=20)
    overall, per = sparsity_of(m)
    assert overall == pytest.approx(0.7, abs=0.01) and rep.sparsity == overall
    assert all(s == pytest.approx(0.7, abs=0.02) for s in per.values())
    assert not any("weight_orig" in n for n, _ in m.named_parameters())  # masks made permanent
    assert rep.loss_after < rep.loss_before  # fine-tuning on labels lowers the loss


def test_channel_pruning_shrinks_and_runs(data, tmp_path):
    torch.manual_seed(0)
    m = TinyCNN()
    ex = torch.from_numpy(data[0][:2])
    rep = prune_channels(m, 0.5, ex, data, steps=5)
    assert m.c1.weight.shape == (8, 1, 3, 3) and m.bn.num_features == 8 and m.c2.weight.shape == (16, 8, 3, 3)
    assert m.dw.weight.shape == (16, 1, 3, 3) and m.pw.weight.shape == (8, 16, 1, 1)
    assert m.fc.weight.shape == (10, 8 * 36)
    assert rep.params_after < 0.5 * rep.params_before
    assert m(ex).shape == (2, 10)
    from edgeport.compress._torchio import save_module

    out = save_module(m, tmp_path / "pruned.onnx", ex[:1])
    got = ort.InferenceSession(str(out)).run(None, {"input": data[0][:1]})[0]
    np.testing.assert_allclose(got, m(ex[:1]).detach().numpy(), rtol=1e-4, atol=1e-5)


def test_prune_errors(data):
    with pytest.raises(UsageError):
        prune(TinyCNN(), 1.5, data)
    with pytest.raises(CalibrationDataError):
        prune(TinyCNN(), 0.5, (np.full((4, 1, 12, 12), np.nan, np.float32), None))


def test_kmeans_and_cluster_torch(tmp_path):
    w = np.random.default_rng(0).normal(size=(64, 64)).astype(np.float32)
    c, labels = kmeans_1d(w, 8)
    assert len(c) == 8 and labels.shape == w.shape
    assert np.abs(c[labels] - w).mean() < np.abs(w - w.mean()).mean() / 4
    m = TinyCNN()
    rep = cluster(m, 8, tmp_path / "c.pth", min_elements=100)
    assert rep.layers and all(
        np.unique(dict(m.named_modules())[n].weight.detach().numpy()).size <= 8 for n in rep.layers)
    assert rep.size_zipped_after < rep.size_zipped_before


def test_cluster_onnx(onnx_model, tmp_path):
    out = tmp_path / "c.onnx"
    rep = cluster(onnx_model, 4, out, min_elements=100)
    inits = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(out)).graph.initializer}
    assert rep.layers and all(np.unique(inits[n]).size <= 4 for n in rep.layers)
    assert rep.size_zipped_after < rep.size_zipped_before
    ort.InferenceSession(str(out)).run(None, {"x": np.zeros((1, 3, 16, 16), np.float32)})


def test_distillation_lowers_the_loss(data):
    torch.manual_seed(0)
    teacher = TinyCNN()
    prune(teacher, 0.1, data, steps=30)  # a few steps so the teacher holds some knowledge
    student = TinyStudent()
    rep = distill(teacher, student, data, temperature=3.0, alpha=0.5, epochs=4)
    assert rep.losses[-1] < rep.losses[0]
    assert 0 <= rep.agreement <= 1 and rep.student_top1 is not None


def test_distill_from_a_model_file(data, tmp_path):
    teacher = TinyCNN().eval()
    path = tmp_path / "teacher.onnx"
    torch.onnx.export(teacher, (torch.zeros(1, 1, 12, 12),), str(path), input_names=["x"], dynamo=False)
    rep = distill(str(path), TinyStudent(), (data[0], None), epochs=3)
    assert rep.alpha == 1.0 and rep.losses[-1] < rep.losses[0]
