"""ONNX (onnxruntime.quantization) and OpenVINO (NNCF) quantization, checked in their runtimes."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from edgeport.compress import quantize
from edgeport.compress.evaluate import cosine


def _run(path, x):
    s = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return np.concatenate([s.run(None, {"x": xi[None]})[0] for xi in x])


@pytest.fixture(scope="module")
def xs():
    return np.random.default_rng(5).random((6, 3, 16, 16)).astype(np.float32)


@pytest.mark.parametrize("mode,kw,min_cos", [("int8", {}, 0.99), ("int8", {"activation_type": "int8"}, 0.99),
                                            ("int8", {"method": "percentile"}, 0.98), ("int8", {"method": "entropy"}, 0.9),
                                            ("int16x8", {}, 0.999), ("dynamic", {}, 0.99), ("fp16", {}, 0.99999)])
def test_onnx_modes(onnx_model, onnx_calib, work, xs, mode, kw, min_cos):
    out = work / f"o_{mode}_{'_'.join(map(str, kw.values()))}.onnx"
    rep = quantize(onnx_model, out, mode=mode, calib=onnx_calib, **kw)
    assert rep.size_after < rep.size_before
    ops = {n.op_type for n in onnx.load(str(out)).graph.node}
    if mode in ("int8", "int16x8"):
        assert "QuantizeLinear" in ops and "DequantizeLinear" in ops
    if mode == "fp16":
        assert "Cast" in ops
    assert cosine(_run(onnx_model, xs), _run(out, xs)) > min_cos


def test_openvino_int8_and_fp16(onnx_model, onnx_calib, work, xs):
    pytest.importorskip("openvino")
    import openvino as ov

    ref = _run(onnx_model, xs)
    modes = ["fp16"]
    try:
        import nncf  # noqa: F401

        modes.append("int8")
    except ImportError:
        pass
    for mode in modes:
        out = work / f"ov_{mode}.xml"
        quantize(onnx_model, out, mode=mode, calib=onnx_calib)
        assert out.exists() and out.with_suffix(".bin").exists()
        cm = ov.Core().compile_model(str(out), "CPU")
        got = np.concatenate([cm(xi[None])[0] for xi in xs])
        assert cosine(ref, got) > 0.99


def test_onnx_diagnosis_and_exclusion(onnx_model, onnx_calib, work):
    out = work / "o_diag.onnx"
    rep = quantize(onnx_model, out, mode="int8", calib=onnx_calib, diagnose=True)
    names = [s.name for s in rep.layers]
    assert {"r1", "r2", "logits"} <= set(names)
    assert all(a.snr_db <= b.snr_db for a, b in zip(rep.layers, rep.layers[1:]))
    assert all(s.cosine > 0.95 for s in rep.layers)
    rep = quantize(onnx_model, out, mode="int8", calib=onnx_calib, keep_float=["logits"], diagnose=True)
    gemm = [n for n in onnx.load(str(out)).graph.node if n.op_type == "Gemm"][0]
    assert not any(i.endswith("_DequantizeLinear_Output") and i.startswith("w3") for i in gemm.input)
    assert any(s.kept_float and s.name == "logits" for s in rep.layers)


def test_onnx_auto_mixed_precision(onnx_model, onnx_calib, work):
    out = work / "o_amp.onnx"
    x = np.load(onnx_calib)["x"]
    ev = work / "o_amp_eval.npz"
    np.savez(ev, x=x, y=_run(onnx_model, x).argmax(1))  # labels = the float model's answers: float top-1 is 100 %
    plain = quantize(onnx_model, work / "o_plain.onnx", mode="int8", calib=onnx_calib, max_drop=1.0, eval_data=ev)
    rep = quantize(onnx_model, out, mode="int8", calib=onnx_calib, auto_mixed_precision=True, max_drop=0.0,
                   eval_data=ev)
    assert out.exists() and rep.drop <= 0 and any("kept" in n for n in rep.notes)
    assert (plain.drop > 0) == bool(rep.float_layers)  # layers go back to float only when int8 costs accuracy
    assert all(name in rep.notes[0] for name in rep.float_layers)
