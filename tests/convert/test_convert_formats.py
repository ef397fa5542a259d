"""Inputs and outputs beyond the plain case: old opsets, external data, .onnx/.xml outputs, the 2 GB limit."""

import numpy as np
import onnx
import pytest
from onnx import helper

from edgeport.convert import convert
from edgeport.errors import ConversionError
from test_tflite_util import litert_run, make_model

rng = np.random.default_rng(9)


def _conv(opset, **kw):
    return make_model([helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
                       helper.make_node("Relu", ["c"], ["y"])], [("x", [1, 3, 6, 6])], [("y", None)],
                      {"w": rng.standard_normal((4, 3, 3, 3)).astype(np.float32)}, opset=opset)


@pytest.mark.parametrize("opset", [7, 8, 11])
def test_old_opsets(opset, tmp_path):
    m = make_model([helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
                    helper.make_node("Relu", ["c"], ["r"]),
                    helper.make_node("Upsample", ["r"], ["u"], scales=[1.0, 1.0, 2.0, 2.0], mode="nearest")
                    if opset < 9 else helper.make_node("MaxPool", ["r"], ["u"], kernel_shape=[2, 2]),
                    helper.make_node("Softmax", ["u"], ["y"], axis=1)],
                   [("x", [1, 3, 6, 6])], [("y", None)], {"w": rng.standard_normal((4, 3, 3, 3)).astype(np.float32)},
                   opset=opset)
    onnx.save(m, tmp_path / "m.onnx")
    rep = convert(tmp_path / "m.onnx", tmp_path / "m.tflite")
    assert rep.verified and rep.transposes_result == 0


def test_external_data(tmp_path):
    m = _conv(13)
    onnx.save(m, tmp_path / "ext.onnx", save_as_external_data=True, all_tensors_to_one_file=True,
              location="ext.data", size_threshold=0)
    assert (tmp_path / "ext.data").exists()
    rep = convert(tmp_path / "ext.onnx", tmp_path / "ext.tflite")
    assert rep.verified
    x = rng.standard_normal((1, 3, 6, 6)).astype(np.float32)
    import onnxruntime as ort

    ref = ort.InferenceSession(str(tmp_path / "ext.onnx"), providers=["CPUExecutionProvider"]).run(None, {"x": x})
    got = litert_run((tmp_path / "ext.tflite").read_bytes(), {"x": x})["y"].transpose(0, 3, 1, 2)
    np.testing.assert_allclose(got, ref[0], rtol=1e-4, atol=1e-5)


def test_onnx_output_resaves(tmp_path):
    onnx.save(_conv(13), tmp_path / "a.onnx")
    rep = convert(tmp_path / "a.onnx", tmp_path / "b.onnx")
    assert rep.output_format == "onnx" and (tmp_path / "b.onnx").exists()
    onnx.checker.check_model(onnx.load(tmp_path / "b.onnx"))


def test_openvino_output_dispatch(tmp_path):
    pytest.importorskip("openvino")
    onnx.save(_conv(13), tmp_path / "a.onnx")
    rep = convert(tmp_path / "a.onnx", tmp_path / "a.xml")
    assert rep.output_format == "openvino" and (tmp_path / "a.xml").exists() and (tmp_path / "a.bin").exists()


def test_over_flatbuffer_limit_is_refused(tmp_path, monkeypatch):
    from edgeport.convert.tflite import flatbuffer

    monkeypatch.setattr(flatbuffer, "FLATBUFFER_LIMIT", (64 << 20) + 100)  # pretend the limit is tiny
    onnx.save(_conv(13), tmp_path / "a.onnx")
    with pytest.raises(ConversionError, match="2 GiB TFLite FlatBuffer limit") as e:
        convert(tmp_path / "a.onnx", tmp_path / "a.tflite")
    assert "fp16" in e.value.hint and not (tmp_path / "a.tflite").exists()


def test_unknown_output_extension(tmp_path):
    from edgeport.errors import UsageError

    onnx.save(_conv(13), tmp_path / "a.onnx")
    with pytest.raises(UsageError, match="output format") as e:
        convert(tmp_path / "a.onnx", tmp_path / "a.pb")
    assert ".tflite, .onnx or .xml" in e.value.hint
