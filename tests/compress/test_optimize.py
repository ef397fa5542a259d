"""optimize: tries the variants, keeps the best within the budget, refuses to write outside it, plots."""

from __future__ import annotations

import numpy as np
import pytest

from edgeport.compress import optimize
from edgeport.errors import QualityBudgetError


def exact_match(outputs, reference):
    """A metric only the float model can pass (used to force every quantized variant out of budget)."""
    return float(np.array_equal(outputs, reference))


@pytest.fixture(scope="module")
def eval_npz(work, tfl):
    p = work / "eval.npz"
    np.savez(p, x=np.random.default_rng(3).random((16, 16, 16, 3)).astype(np.float32))
    return p


def test_picks_within_budget_and_plots(tfl, eval_npz, work):
    out, png = work / "best.tflite", work / "pareto.png"
    rep = optimize(tfl, out, eval_npz, max_drop="5%", variants=["fp16", "int8"], runs=5, plot=png)
    names = [v.name for v in rep.variants]
    assert names == ["float", "fp16", "int8"] and all(v.error is None for v in rep.variants)
    chosen = next(v for v in rep.variants if v.name == rep.chosen)
    assert chosen.within_budget and out.exists() and out.stat().st_size == chosen.size_bytes
    assert chosen.latency_ms == min(v.latency_ms for v in rep.variants if v.within_budget)
    assert any(v.pareto for v in rep.variants)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_refuses_to_save_outside_budget(tfl, eval_npz, work):
    out = work / "none.tflite"
    with pytest.raises(QualityBudgetError) as e:
        optimize(tfl, out, eval_npz, max_drop=0.0, variants=["int8"], include_float=False, runs=3,
                 metric=f"{__name__}:exact_match")
    assert not out.exists()
    assert e.value.report.chosen is None and e.value.report.variants[0].drop == 1.0


def test_onnx_variants(onnx_model, onnx_calib, work):
    out = work / "best.onnx"
    rep = optimize(onnx_model, out, onnx_calib, max_drop=1.0, variants=["int8 U8S8"], runs=5, objective="size")
    assert rep.chosen == "int8 U8S8" and out.exists()  # smallest, and every variant is in a 100 % budget


def test_onnx_source_to_tflite_shows_onnx_int8_for_comparison(onnx_model, onnx_calib, work):
    convert = pytest.importorskip("edgeport.convert")
    if not hasattr(convert, "convert"):
        pytest.skip("edgeport.convert.convert not available")
    out = work / "best_from_onnx.tflite"
    rep = optimize(onnx_model, out, onnx_calib, max_drop=1.0, variants=["int8", "onnx int8"], runs=3)
    row = next(v for v in rep.variants if v.name == "onnx int8 (ORT)")
    assert row.error is None and not row.eligible and row.latency_ms > 0
    assert rep.chosen in ("float", "int8") and out.read_bytes()[4:8] == b"TFL3"
