"""Entropy (KL) calibration for TFLite and int16 activations as the first auto mixed precision fallback."""

from __future__ import annotations

import numpy as np
import pytest

from edgeport.compress import quantize
from edgeport.compress.evaluate import snr_db
from edgeport.compress.tflite import _fb
from edgeport.compress.tflite.diagnose import diagnose_tflite
from edgeport.compress.tflite.entropy import entropy_range
from edgeport.compress.tflite.interp import make_interpreter, run_interpreter
from edgeport.errors import UsageError
from tests.support.tflite_builder import small_cnn

T = _fb.S.TensorType


def _outputs(path, xs):
    it = make_interpreter(path)
    return np.concatenate([run_interpreter(it, {"input": x[None]})[0] for x in xs])


def _tensors(path):
    m = _fb.read_model(path)
    sg = m.subgraphs[0]
    return m, sg, {t.name.decode(): t for t in sg.tensors}


def test_kl_range_clips_outliers_only():
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, 50_000).astype(np.float32)
    x[:10] = 40.0
    lo, hi = entropy_range(x, float(x.min()), 40.0)
    assert 2.5 < hi < 8 and -8 < lo < -2.5  # the bulk is kept, the outliers are clipped
    r = np.maximum(x, 0)
    lo, hi = entropy_range(r, 0.0, 40.0)
    assert lo == 0.0 and 2.5 < hi < 8  # one-sided: only the top is clipped
    u = rng.uniform(-1, 1, 50_000).astype(np.float32)
    lo, hi = entropy_range(u, -1.0, 1.0)
    assert lo < -0.9 and hi > 0.9  # nothing to clip


def test_entropy_beats_minmax_on_outliers(tfl, work):
    rng = np.random.default_rng(3)
    x = rng.random((24, 16, 16, 3)).astype(np.float32)
    x[::4, 0, 0, 0] = 60.0  # rare outlier pixels blow up the min-max input range
    calib = work / "calib_outliers.npz"
    np.savez(calib, x=x)
    clean = rng.random((8, 16, 16, 3)).astype(np.float32)
    ref = _outputs(tfl, clean)
    snr, scale, layer = {}, {}, {}
    for method in ("minmax", "entropy"):
        out = work / f"out_{method}.tflite"
        rep = quantize(tfl, out, mode="int8", calib=calib, method=method)
        assert rep.method == method
        scale[method] = _tensors(out)[2]["input_quant"].quantization.scale[0]
        snr[method] = snr_db(ref, _outputs(out, clean))
        stats = diagnose_tflite(tfl, out, [{"input": c[None]} for c in clean], rep.quantized_layers)
        layer[method] = {s.name: s.snr_db for s in stats}
    assert scale["entropy"] < scale["minmax"] / 4  # clips tighter
    # and the model is closer to float on ordinary (outlier-free) data: first conv and output
    assert layer["entropy"]["conv1"] > layer["minmax"]["conv1"] + 6
    assert layer["entropy"]["logits"] > layer["minmax"]["logits"] + 1
    assert snr["entropy"] > snr["minmax"]


def test_int16_layers_are_16x8_and_closer_to_float(tfl, calib, work):
    base = quantize(tfl, work / "all8.tflite", mode="int8", calib=calib, diagnose=True)
    out = work / "mixed16.tflite"
    rep = quantize(tfl, out, mode="int8", calib=calib, diagnose=True, int16_layers=["conv1", "conv2", "fc1"])
    assert sorted(rep.int16_layers) == ["conv1", "conv2", "fc1"] and not rep.float_layers
    assert rep.precision("conv2") == "int16" and rep.precision("dw1") == "int8"
    m, sg, by = _tensors(out)
    assert by["conv2"].type == T.INT16 and by["fc1"].type == T.INT16 and by["dw1"].type == T.INT8
    conv2 = next(op for op in sg.operators if sg.tensors[op.outputs[0]].name == b"conv2")
    x, w, b = (sg.tensors[i] for i in conv2.inputs[:3])
    assert x.type == T.INT16 and w.type == T.INT8 and b.type == T.INT64
    assert by["conv2"].quantization.zeroPoint[0] == 0  # int16 activations are symmetric
    ops = [_fb.op_name(m, op) for op in sg.operators]
    assert ops.count("QUANTIZE") >= 4  # float->int16 input, int16->int8 for dw1/conv3, int8->int16 before fc1
    snr8 = {s.name: s.snr_db for s in base.layers}
    snr16 = {s.name: s.snr_db for s in rep.layers}
    # int8 weights bound the gain (16x8): a few dB per layer here
    assert snr16["conv1"] > snr8["conv1"] + 3 and snr16["conv2"] > snr8["conv2"] + 3
    assert snr16["fc1"] > snr8["fc1"] and rep.output_snr_db > base.output_snr_db


def test_every_layer_int16_matches_the_int16x8_mode(tfl, calib, work, xs):
    layers = quantize(tfl, work / "probe.tflite", mode="int8", calib=calib).quantized_layers
    a = quantize(tfl, work / "all16.tflite", mode="int8", calib=calib, int16_layers=layers)
    b = quantize(tfl, work / "x16.tflite", mode="int16x8", calib=calib)
    assert sorted(a.int16_layers) == sorted(layers)
    np.testing.assert_allclose(_outputs(work / "all16.tflite", xs), _outputs(work / "x16.tflite", xs), atol=1e-6)
    assert a.output_snr_db == pytest.approx(b.output_snr_db)


@pytest.fixture(scope="module")
def xs():
    return np.random.default_rng(7).random((6, 16, 16, 3)).astype(np.float32)


@pytest.fixture(scope="module")
def tied(work, calib):
    path = small_cnn(work / "tied16.tflite", logit_scale=1e-3)  # near-equal classes: any rounding flips top-1
    x = np.load(calib)["x"]
    it = make_interpreter(path)
    ev = work / "tied16_eval.npz"
    np.savez(ev, x=x, y=np.array([run_interpreter(it, {"input": xi[None]})[0].argmax() for xi in x]))
    return path, ev


def test_auto_mixed_precision_int16_first_then_float(tied, calib, work):
    path, ev = tied
    rep = quantize(path, work / "amp16.tflite", mode="int8", calib=calib, max_drop="0%", eval_data=ev,
                   auto_mixed_precision=True, fallback="int16")
    assert rep.drop <= 0 and rep.int16_layers
    assert not set(rep.int16_layers) & set(rep.float_layers)
    assert any("int16" in n for n in rep.notes) and set(rep.latency_ms) == {"float", "int8", "mixed"}
    assert {rep.precision(n) for n in rep.quantized_layers} <= {"int8", "int16"}
    fast = quantize(path, work / "ampf.tflite", mode="int8", calib=calib, max_drop="0%", eval_data=ev,
                    auto_mixed_precision=True)  # the default: straight to float (fast on XNNPACK)
    assert fast.drop <= 0 and not fast.int16_layers and fast.float_layers
    # fewer layers leave int8 entirely when int16 is allowed first
    assert len(rep.float_layers) < len(fast.float_layers)
    with pytest.raises(UsageError):
        quantize(path, work / "never.tflite", mode="int8", calib=calib, fallback="int4")


def test_cli_fallback_and_entropy(tfl, calib, work, capsys):
    from edgeport.cli.app import main
    import json

    out = work / "cli_ent.tflite"
    rc = main(["quantize", str(tfl), "-o", str(out), "--calib", str(calib), "--method", "entropy",
               "--int16", "conv3", "--json"])
    assert rc == 0
    d = json.loads(capsys.readouterr().out)
    assert d["method"] == "entropy" and d["int16_layers"] == ["conv3"] and out.exists()
    rc = main(["quantize", str(tfl), "-o", str(work / "x.tflite"), "--calib", str(calib), "--fallback", "fp8"])
    assert rc == 2
