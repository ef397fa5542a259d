"""The runner on tiny real models (ONNX Runtime, OpenVINO, LiteRT), few runs."""

import json
import time

import numpy as np
import pytest

import edgeport.runtime
from edgeport.bench import benchmark, summarize
from edgeport.errors import BackendUnavailableError, ModelFormatError, UsageError


def test_onnxruntime_row(tiny_onnx):
    seen = []
    cmp = benchmark([tiny_onnx], backends=["onnxruntime"], warmup=2, runs=15,
                    progress=lambda d, t, label: seen.append((d, t)))
    (r,) = cmp.results
    assert r.backend == "onnxruntime" and r.format == "onnx" and r.accelerator == "cpu"
    assert r.size_bytes == tiny_onnx.stat().st_size
    assert r.count == 15 and len(r.samples_ms) == 15
    assert summarize(np.array(r.samples_ms) * 1e6).p90_ms == pytest.approx(r.p90_ms)
    assert r.min_ms <= r.p50_ms <= r.p90_ms <= r.p99_ms <= r.max_ms
    assert r.init_ms > 0 and r.first_ms > 0 and r.warmup_avg_ms > 0
    assert r.memory_method and r.peak_rss_mb >= r.rss_baseline_mb > 0
    assert seen[-1] == (18, 18) and all(a[0] <= b[0] for a, b in zip(seen, seen[1:]))
    d = json.loads(json.dumps(cmp.to_dict(samples=True)))
    assert d["results"][0]["ratio_to_first"]["p50_ms"] == 1.0 and len(d["results"][0]["samples_ms"]) == 15
    assert d["cpu"]["model"]


def test_timing_measures_run_only(tiny_onnx, monkeypatch):
    """A session whose run sleeps 3 ms: every sample is >= 3 ms, and all of them fit in the wall time."""
    real_load = edgeport.runtime.load

    def slow_load(*a, **k):
        s = real_load(*a, **k)
        inner = s.run

        def run(feeds):
            time.sleep(0.003)
            return inner(feeds)

        s.run = run
        return s

    monkeypatch.setattr(edgeport.runtime, "load", slow_load)
    t0 = time.perf_counter()
    r = benchmark(tiny_onnx, warmup=1, runs=10, memory=False).results[0]
    wall_ms = (time.perf_counter() - t0) * 1000
    assert r.min_ms >= 3.0 and r.first_ms >= 3.0
    # the samples are disjoint slices of the call's wall time, beside load, first and warm-up
    assert sum(r.samples_ms) + r.init_ms + r.first_ms + r.warmup_avg_ms <= wall_ms
    assert r.peak_rss_mb is None


def test_two_backends_side_by_side_with_profiles(tiny_onnx):
    pytest.importorskip("openvino")
    cmp = benchmark([tiny_onnx], backends=["onnxruntime", "openvino", "litert"], warmup=1, runs=5, profile_ops=True)
    assert [r.backend for r in cmp] == ["onnxruntime", "openvino"]
    assert cmp.skipped and cmp.skipped[0]["backend"] == "litert"
    q = cmp.ratios()
    assert q[0]["p50_ms"] == 1.0 and q[1]["p50_ms"] == pytest.approx(cmp[1].p50_ms / cmp[0].p50_ms)
    ort_types = {op["op_type"] for op in cmp[0].op_profile}
    assert "Conv" in ort_types and "GlobalAveragePool" in ort_types
    assert sum(op["percent"] for op in cmp[0].op_profile) == pytest.approx(100.0)
    assert any(op["op_type"] == "Convolution" for op in cmp[1].op_profile)


def test_litert_row_and_profile_note(tiny_tflite, tiny_onnx):
    cmp = benchmark([tiny_tflite, tiny_onnx], warmup=1, runs=5, profile_ops=True)
    assert [r.backend for r in cmp] == ["litert", "onnxruntime"]
    assert [(op["index"], op["op_type"]) for op in cmp[0].op_profile] == [(0, "RELU")]  # isolated-op profile
    assert "sum of ops" in cmp[0].op_profile_note and "whole model" in cmp[0].op_profile_note


def test_real_inputs_are_used(tiny_onnx, tmp_path, monkeypatch):
    x = np.full((1, 1, 8, 8), 0.5, np.float32)
    np.savez(tmp_path / "d.npz", x=x)
    fed = []
    _spy(monkeypatch, fed)
    r = benchmark(tiny_onnx, data=tmp_path / "d.npz", warmup=0, runs=2).results[0]
    assert len(fed) == 3 and all(np.array_equal(f["x"], x) for f in fed)
    assert "d.npz" in r.input_source and r.warmup_avg_ms is None


def test_user_errors(tiny_onnx, tmp_path):
    with pytest.raises(UsageError):
        benchmark(tmp_path / "missing.onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07garbage" * 10)
    with pytest.raises(ModelFormatError):
        benchmark(bad, runs=1, warmup=0)
    with pytest.raises(BackendUnavailableError):
        benchmark(tiny_onnx, backends=["litert"])
    with pytest.raises(UsageError):
        benchmark(tiny_onnx, runs=0)


def _spy(monkeypatch, fed):
    real_load = edgeport.runtime.load

    def spy_load(*a, **k):
        s = real_load(*a, **k)
        inner = s.run
        s.run = lambda feeds: (fed.append(feeds), inner(feeds))[1]
        return s

    monkeypatch.setattr(edgeport.runtime, "load", spy_load)


def test_image_input_normalized_by_model_metadata(tiny_onnx, tmp_path, monkeypatch):
    model = pytest.importorskip("edgeport.model")
    if not hasattr(model, "write_metadata"):
        pytest.skip("edgeport.model.write_metadata not there yet")
    from PIL import Image

    from edgeport.model.spec import ModelMetadata

    model.write_metadata(tiny_onnx, ModelMetadata(mean=[0.5], std=[0.25]))
    Image.fromarray(np.full((16, 16), 255, np.uint8)).save(tmp_path / "white.png")
    fed = []
    _spy(monkeypatch, fed)
    benchmark(tiny_onnx, inputs={"x": tmp_path / "white.png"}, warmup=0, runs=1)
    assert fed[0]["x"].shape == (1, 1, 8, 8) and np.allclose(fed[0]["x"], 2.0)  # (1 - 0.5) / 0.25


def test_openvino_ir_size_counts_bin(tiny_onnx, tmp_path):
    ov = pytest.importorskip("openvino")

    xml = tmp_path / "tiny.xml"
    ov.save_model(ov.Core().read_model(str(tiny_onnx)), str(xml), compress_to_fp16=False)
    r = benchmark(xml, warmup=0, runs=3, memory=False).results[0]
    assert r.format == "openvino" and r.backend == "openvino"
    assert r.size_bytes == xml.stat().st_size + xml.with_suffix(".bin").stat().st_size
