"""TFLite quantization by FlatBuffer rewrite: numbers against the float model in LiteRT, sizes, tensor types."""

from __future__ import annotations

import numpy as np
import pytest

from edgeport.compress import quantize
from edgeport.compress.evaluate import cosine
from edgeport.compress.tflite import _fb
from edgeport.compress.tflite.interp import make_interpreter, run_interpreter
from edgeport.errors import CalibrationDataError, QualityBudgetError, UsageError
from tests.support.tflite_builder import small_cnn


def _outputs(path, xs):
    it = make_interpreter(path)
    return np.concatenate([run_interpreter(it, {"input": x[None]})[0] for x in xs])


def _types(path):
    m = _fb.read_model(path)
    sg = m.subgraphs[0]
    return m, sg, {t.name.decode(): t for t in sg.tensors}, [_fb.op_name(m, op) for op in sg.operators]


@pytest.fixture(scope="module")
def xs():
    return np.random.default_rng(7).random((8, 16, 16, 3)).astype(np.float32)


@pytest.mark.parametrize("mode,min_cos", [("int8", 0.98), ("int16x8", 0.999), ("fp16", 0.99999), ("dynamic", 0.999)])
def test_modes_close_to_float_and_smaller(tfl, calib, work, xs, mode, min_cos):
    out = work / f"q_{mode}.tflite"
    rep = quantize(tfl, out, mode=mode, calib=calib)
    assert out.exists() and rep.size_after == out.stat().st_size < rep.size_before
    assert cosine(_outputs(tfl, xs), _outputs(out, xs)) > min_cos


def test_int8_follows_the_spec(tfl, calib, work):
    out = work / "spec.tflite"
    quantize(tfl, out, mode="int8", calib=calib)
    m, sg, by_name, ops = _types(out)
    assert ops[0] == "QUANTIZE" and ops[-1] == "DEQUANTIZE"
    assert sg.tensors[sg.inputs[0]].type == _fb.S.TensorType.FLOAT32
    conv = next(op for op in sg.operators if _fb.op_name(m, op) == "CONV_2D")
    x, w, b = (sg.tensors[i] for i in conv.inputs[:3])
    assert w.type == _fb.S.TensorType.INT8 and len(w.quantization.scale) == w.shape[0]
    assert np.all(w.quantization.zeroPoint == 0) and w.quantization.quantizedDimension == 0
    assert b.type == _fb.S.TensorType.INT32
    np.testing.assert_allclose(b.quantization.scale, x.quantization.scale[0] * w.quantization.scale, rtol=1e-6)
    dw = next(op for op in sg.operators if _fb.op_name(m, op) == "DEPTHWISE_CONV_2D")
    assert sg.tensors[dw.inputs[1]].quantization.quantizedDimension == 3
    probs = by_name["probs_int8"]
    assert probs.quantization.scale[0] == pytest.approx(1 / 256) and probs.quantization.zeroPoint[0] == -128
    pool_in = next(op for op in sg.operators if _fb.op_name(m, op) == "MAX_POOL_2D")
    a, o = sg.tensors[pool_in.inputs[0]], sg.tensors[pool_in.outputs[0]]
    assert a.quantization.scale[0] == o.quantization.scale[0] and a.quantization.zeroPoint[0] == o.quantization.zeroPoint[0]
    # no float weights left behind
    assert all(t.type != _fb.S.TensorType.FLOAT32 or _fb.tensor_array(m, t) is None for t in sg.tensors)


def test_per_tensor_and_int_io(tfl, calib, work, xs):
    out = work / "pt_io.tflite"
    rep = quantize(tfl, out, mode="int8", calib=calib, per_channel=False, int_io=True)
    m, sg, by_name, ops = _types(out)
    assert "QUANTIZE" not in ops[:1] and sg.tensors[sg.inputs[0]].type == _fb.S.TensorType.INT8
    assert len(by_name["conv1"].quantization.scale) == 1
    assert cosine(_outputs(tfl, xs), _outputs(out, xs)) > 0.98  # run_interpreter (de)quantizes the I/O
    assert rep.per_channel is False


def test_keep_float_and_diagnosis(tfl, calib, work):
    out = work / "mixed.tflite"
    rep = quantize(tfl, out, mode="int8", calib=calib, keep_float=["fc1"], diagnose=True)
    assert "fc1" in rep.float_layers and "fc1" not in rep.quantized_layers
    m, sg, by_name, ops = _types(out)
    assert by_name["fc1"].type == _fb.S.TensorType.FLOAT32
    assert ops.count("DEQUANTIZE") >= 2  # before fc1 and at the output
    stats = [s for s in rep.layers if not s.kept_float]
    assert stats and all(a.snr_db <= b.snr_db for a, b in zip(stats, stats[1:]))
    assert all(s.cosine > 0.95 and s.snr_db > 10 for s in stats)
    assert any(s.kept_float and s.name == "fc1" for s in rep.layers)


def test_percentile_and_entropy(tfl, calib, work):
    rep = quantize(tfl, work / "pct.tflite", mode="int8", calib=calib, method="percentile")
    assert rep.output_cosine > 0.98
    rep = quantize(tfl, work / "ent.tflite", mode="int8", calib=calib, method="entropy")
    assert rep.output_cosine > 0.98
    with pytest.raises(UsageError):
        quantize(tfl, work / "bad.tflite", mode="int8", calib=calib, method="kl")


def test_budget_refusal_and_auto_mixed_precision(work, calib):
    tied = small_cnn(work / "tied.tflite", logit_scale=1e-3)  # ten near-equal classes
    x = np.load(calib)["x"]
    it = make_interpreter(tied)
    y = np.array([run_interpreter(it, {"input": xi[None]})[0].argmax() for xi in x])
    ev = work / "tied_eval.npz"
    np.savez(ev, x=x, y=y)
    out = work / "tied_int8.tflite"
    with pytest.raises(QualityBudgetError) as e:
        quantize(tied, out, mode="int8", calib=calib, max_drop=0.0, eval_data=ev)
    assert not out.exists() and e.value.report.drop > 0
    rep = quantize(tied, out, mode="int8", calib=calib, max_drop="0%", eval_data=ev, auto_mixed_precision=True)
    assert out.exists() and rep.drop <= 0 and rep.float_layers  # the softmax (at least) stayed float
    assert "kept" in rep.notes[-1]


def test_calibration_errors_before_work(tfl, work):
    out = work / "never.tflite"
    for bad in ({"x": np.zeros((0, 16, 16, 3), np.float32)}, {"x": np.zeros((4, 5, 5, 3), np.float32)},
                {"x": np.full((4, 16, 16, 3), np.nan, np.float32)}):
        p = work / "bad.npz"
        np.savez(p, **bad)
        with pytest.raises(CalibrationDataError):
            quantize(tfl, out, mode="int8", calib=p)
    with pytest.raises(UsageError):
        quantize(tfl, out, mode="int8")  # no calibration data
    with pytest.raises(UsageError):
        quantize(tfl, out, mode="int4", calib=p)
    assert not out.exists()


def test_metadata_survives(tfl, calib, work):
    model = pytest.importorskip("edgeport.model")
    if not hasattr(model, "write_metadata"):
        pytest.skip("edgeport.model.write_metadata not available")
    src = work / "meta.tflite"
    model.write_metadata(str(tfl), model.ModelMetadata(labels=list("abcdefghij"), mean=[0.5], std=[0.25]), out=str(src))
    for mode in ("int8", "fp16", "dynamic"):
        out = work / f"meta_{mode}.tflite"
        quantize(src, out, mode=mode, calib=calib)
        meta = model.read_metadata(str(out))
        assert meta.labels == list("abcdefghij") and meta.mean == [0.5] and meta.std == [0.25]


def test_onnx_source_to_int8_tflite(onnx_model, onnx_calib, work):
    convert = pytest.importorskip("edgeport.convert")
    if not hasattr(convert, "convert"):
        pytest.skip("edgeport.convert.convert not available")
    out = work / "from_onnx_int8.tflite"
    rep = quantize(onnx_model, out, mode="int8", calib=onnx_calib)
    assert rep.format == "tflite" and not rep.float_layers and rep.output_cosine > 0.98
    m, sg, by_name, ops = _types(out)
    assert ops.count("CONV_2D") == 2 and "FULLY_CONNECTED" in ops


def test_corrupt_model_is_refused_before_native_code(tfl, calib, work):
    from edgeport.errors import ModelFormatError

    bad = work / "truncated.tflite"
    bad.write_bytes(tfl.read_bytes()[:200])
    with pytest.raises(ModelFormatError):
        quantize(bad, work / "never2.tflite", mode="int8", calib=calib)
    assert not (work / "never2.tflite").exists()


def test_op_coverage_through_the_converter(work):
    """SiLU (LOGISTIC+MUL), HARD_SWISH, residual ADD, CONCAT, TANH, pools, RESIZE, LEAKY_RELU, MEAN, FC, SOFTMAX."""
    torch = pytest.importorskip("torch")
    convert = pytest.importorskip("edgeport.convert")
    if not hasattr(convert, "convert"):
        pytest.skip("edgeport.convert.convert not available")
    import warnings

    nn, F = torch.nn, torch.nn.functional

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1, self.c2, self.c3 = nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 8, 3, padding=1), nn.Conv2d(16, 8, 1)
            self.fc = nn.Linear(8, 5)

        def forward(self, x):
            a = self.c1(x)
            a = a * torch.sigmoid(a)
            b = F.hardswish(self.c2(a)) + a
            c = torch.tanh(self.c3(torch.cat([a, b], 1)))
            c = F.leaky_relu(F.interpolate(F.avg_pool2d(c, 2), scale_factor=2, mode="nearest"), 0.1)
            return torch.softmax(self.fc(c.mean((2, 3))), 1)

    torch.manual_seed(0)
    src = work / "ops.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(M().eval(), (torch.rand(1, 3, 8, 8),), str(src), input_names=["x"], dynamo=False, opset_version=17)
    cal = {"x": np.random.default_rng(0).random((8, 3, 8, 8)).astype(np.float32)}
    rep = quantize(src, work / "ops_int8.tflite", mode="int8", calib=cal, diagnose=True)
    assert not rep.float_layers and rep.output_cosine > 0.99
    assert {"HARD_SWISH", "TANH", "LOGISTIC", "CONCATENATION", "RESIZE_NEAREST_NEIGHBOR", "MEAN"} <= {s.op for s in rep.layers}
    rep16 = quantize(src, work / "ops_int16.tflite", mode="int16x8", calib=cal)
    assert rep16.output_cosine > 0.999 and len(rep16.float_layers) == 1  # HARD_SWISH has no 16x8 kernel
