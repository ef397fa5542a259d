"""The embedded doodle model: int8 TFLite (min-max and entropy calibration) keeps its top-1 within a point
and takes <= 26 % of the float size."""

from __future__ import annotations

import pytest

from edgeport.compress import evaluate_top1, quantize

D = pytest.importorskip("edgeport.assets.doodle")


@pytest.mark.skipif(not D.MODEL_PATH.exists() or not D.TEST_SET_PATH.exists(), reason="doodle asset not built")
def test_doodle_int8(tmp_path):
    out = tmp_path / "doodle_int8.tflite"
    calib = D.CALIB_PATH if D.CALIB_PATH.exists() else D.TEST_SET_PATH
    rep = quantize(D.MODEL_PATH, out, mode="int8", calib=calib, limit=64, eval_data=D.TEST_SET_PATH, max_drop="1%")
    assert rep.metric_name == "top-1" and rep.drop <= 0.01 and rep.float_metric > 0.9
    assert rep.size_ratio <= 0.26 and not rep.float_layers
    assert evaluate_top1(out, D.TEST_SET_PATH) == pytest.approx(rep.quant_metric)
    assert evaluate_top1(D.MODEL_PATH, D.TEST_SET_PATH) == pytest.approx(rep.float_metric, abs=1e-3)


@pytest.mark.skipif(not D.MODEL_PATH.exists() or not D.TEST_SET_PATH.exists(), reason="doodle asset not built")
def test_doodle_int8_entropy(tmp_path):
    out = tmp_path / "doodle_entropy.tflite"
    calib = D.CALIB_PATH if D.CALIB_PATH.exists() else D.TEST_SET_PATH
    rep = quantize(D.MODEL_PATH, out, mode="int8", calib=calib, limit=64, eval_data=D.TEST_SET_PATH, method="entropy")
    assert rep.method == "entropy" and rep.drop <= 0.01 and rep.float_metric > 0.9
    assert evaluate_top1(out, D.TEST_SET_PATH) == pytest.approx(rep.quant_metric)
