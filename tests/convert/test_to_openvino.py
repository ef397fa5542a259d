"""onnx_to_openvino: IR written atomically, numbers equal to ONNX Runtime (via verify), shapes pinned, fp16."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

pytest.importorskip("openvino")

from edgeport.convert.to_openvino import onnx_to_openvino, parse_input_shapes  # noqa: E402
from edgeport.convert.verify import verify  # noqa: E402
from edgeport.errors import ConversionError, ModelFormatError, UsageError  # noqa: E402


def _dynamic_model(path):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((6, 3, 3, 3)).astype(np.float32)
    g = helper.make_graph(
        [helper.make_node("Conv", ["images", "w"], ["c"], pads=[1, 1, 1, 1]),
         helper.make_node("Sigmoid", ["c"], ["s"]),
         helper.make_node("Mul", ["c", "s"], ["out"])],  # SiLU
        "g", [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["N", 3, "H", "W"])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["N", 6, "H", "W"])],
        initializer=[numpy_helper.from_array(w, "w")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, str(path))
    return path


def test_convert_and_verify(tmp_path):
    src = _dynamic_model(tmp_path / "m.onnx")
    xml = onnx_to_openvino(src, tmp_path / "out" / "m.xml", input_shapes="images:1,3,20,24")
    assert xml.exists() and xml.with_suffix(".bin").stat().st_size >= 6 * 3 * 3 * 3 * 4
    assert sorted(p.name for p in xml.parent.iterdir()) == ["m.bin", "m.xml"]  # no temp left
    import openvino as ov

    m = ov.Core().read_model(str(xml))
    assert list(m.inputs[0].get_shape()) == [1, 3, 20, 24]
    r = verify(src, xml, layerwise=True)
    assert r.passed and r.outputs[0].max_rel < 1e-5, r.to_dict()
    assert {layer.name for layer in r.layers} >= {"c", "out"}


def test_fp16_weights(tmp_path):
    src = _dynamic_model(tmp_path / "m.onnx")
    full = onnx_to_openvino(src, tmp_path / "full.xml", input_shapes={"images": [1, 3, 8, 8]})
    half = onnx_to_openvino(src, tmp_path / "half.xml", input_shapes={"images": [1, 3, 8, 8]}, compress_to_fp16=True)
    assert half.with_suffix(".bin").stat().st_size < full.with_suffix(".bin").stat().st_size
    r = verify(src, half, tolerance=1e-2)
    assert r.passed and 0 < r.outputs[0].max_rel < 1e-2


def test_errors(tmp_path):
    assert parse_input_shapes("a:1,2;b:3") == {"a": [1, 2], "b": [3]}
    with pytest.raises(UsageError):
        parse_input_shapes("a=1,2")
    with pytest.raises(UsageError):
        onnx_to_openvino(tmp_path / "m.onnx", tmp_path / "m.bin")
    with pytest.raises(ModelFormatError):
        onnx_to_openvino(tmp_path / "missing.onnx", tmp_path / "m.xml")
    bad = tmp_path / "bad.onnx"
    g = helper.make_graph([helper.make_node("NoSuchOp", ["x"], ["y"], domain="")], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), str(bad))
    with pytest.raises((ConversionError, ModelFormatError)):
        onnx_to_openvino(bad, tmp_path / "bad.xml")
    assert not (tmp_path / "bad.xml").exists()
