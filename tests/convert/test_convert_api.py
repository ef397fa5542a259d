"""edgeport.convert.convert and the `convert` / `check` CLI: end to end, reports, errors, no partial files."""

import json

import numpy as np
import onnx
import pytest
from onnx import helper

from edgeport.cli.app import main
from edgeport.convert import convert
from edgeport.errors import ConversionError, ModelFormatError, UnsupportedOpError, VerificationError
from test_tflite_util import litert_run, make_model, ort_run

rng = np.random.default_rng(7)


def _cnn(path, **meta):
    m = make_model([
        helper.make_node("Conv", ["image", "w"], ["c"], pads=[1, 1, 1, 1]), helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p"], ["f"]), helper.make_node("Gemm", ["f", "fc", "b"], ["g"], transB=1),
        helper.make_node("Softmax", ["g"], ["probs"]),
    ], [("image", [1, 3, 8, 8])], [("probs", None)],
        {"w": rng.standard_normal((4, 3, 3, 3)).astype(np.float32),
         "fc": rng.standard_normal((5, 4 * 4 * 4)).astype(np.float32), "b": rng.standard_normal(5).astype(np.float32)})
    for k, v in meta.items():
        m.metadata_props.add(key=f"edgeport.{k}", value=v)
    onnx.save(m, path)
    return m


def test_convert_cnn_end_to_end(tmp_path):
    m = _cnn(tmp_path / "cnn.onnx", labels=json.dumps(["a", "b", "c", "d", "e"]))
    out = tmp_path / "cnn.tflite"
    rep = convert(tmp_path / "cnn.onnx", out)
    assert out.exists() and rep.verified and rep.transposes_result == 0
    assert rep.inputs_after[0].shape == (1, 8, 8, 3) and rep.inputs_after[0].layout == "NHWC"
    assert rep.inputs_before[0].shape == (1, 3, 8, 8)
    assert rep.result_ops == {"CONV_2D": 1, "MAX_POOL_2D": 1, "RESHAPE": 1, "FULLY_CONNECTED": 1, "SOFTMAX": 1}
    assert any(p["pass"] == "fuse_activations" and p["changes"] for p in rep.passes)
    d = rep.to_dict()
    json.dumps(d)
    assert d["verified"] is True and d["verification"]["passed"] is True
    x = rng.standard_normal((1, 3, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(litert_run(out.read_bytes(), {"image": x})["probs"], ort_run(m, {"image": x})[0],
                               rtol=1e-5, atol=1e-6)
    from edgeport.model import read_metadata

    assert read_metadata(out).labels == ["a", "b", "c", "d", "e"]


def test_cli_convert_json_and_check(tmp_path, capsys):
    _cnn(tmp_path / "cnn.onnx")
    rc = main(["convert", str(tmp_path / "cnn.onnx"), "-o", str(tmp_path / "o.tflite"), "--json", "--keep-io-layout"])
    assert rc == 0
    d = json.loads(capsys.readouterr().out)
    assert d["inputs_after"][0]["shape"] == [1, 3, 8, 8] and d["transposes_result"] == 1 and d["verified"]
    assert main(["check", str(tmp_path / "cnn.onnx")]) == 0
    assert "every node" in capsys.readouterr().out


def test_cli_convert_renders_tables(tmp_path, capsys):
    _cnn(tmp_path / "cnn.onnx")
    assert main(["convert", str(tmp_path / "cnn.onnx"), "-o", str(tmp_path / "o.tflite")]) == 0
    out = capsys.readouterr().out
    assert "CONV_2D" in out and "Transposes: 0 in the source, 0 in the result" in out and "NHWC" in out


def _unsupported(path):
    m = make_model([helper.make_node("Relu", ["x"], ["a"]), helper.make_node("Det", ["a"], ["d"]),
                    helper.make_node("Bernoulli", ["a"], ["e"]), helper.make_node("Bernoulli", ["e"], ["y"])],
                   [("x", [3, 3])], [("y", None), ("d", None)])
    onnx.save(m, path)


def test_unsupported_ops_listed_all_at_once(tmp_path, capsys):
    _unsupported(tmp_path / "bad.onnx")
    with pytest.raises(UnsupportedOpError) as e:
        convert(tmp_path / "bad.onnx", tmp_path / "bad.tflite")
    assert e.value.ops == {"Bernoulli": 2, "Det": 1}
    assert not (tmp_path / "bad.tflite").exists() and list(tmp_path.iterdir()) == [tmp_path / "bad.onnx"]
    main(["check", str(tmp_path / "bad.onnx"), "--json"])  # exits 1 (typer.Exit(1)); see report on app.main
    d = json.loads(capsys.readouterr().out)
    assert sorted((b["op"], b["reason"]) for b in d["unsupported"]) == [("Bernoulli", "unknown_op"), ("Bernoulli", "unknown_op"),
                                                                          ("Det", "unknown_op")]
    assert main(["convert", str(tmp_path / "bad.onnx"), "-o", str(tmp_path / "b.tflite")]) == 2
    assert "Bernoulli x2" in capsys.readouterr().err


def test_corrupted_and_dynamic_and_old_opset(tmp_path, capsys):
    (tmp_path / "junk.onnx").write_bytes(b"\x08\x07garbage" * 10)
    with pytest.raises(ModelFormatError):
        convert(tmp_path / "junk.onnx", tmp_path / "j.tflite")
    assert not (tmp_path / "j.tflite").exists()
    dyn = onnx.parser.parse_model("""<ir_version: 8, opset_import: ["" : 13]>
        g (float[1,3,H,W] img) => (float[1,3,H,W] y) { y = Relu(img) }""")
    onnx.save(dyn, tmp_path / "dyn.onnx")
    assert main(["convert", str(tmp_path / "dyn.onnx"), "-o", str(tmp_path / "d.tflite")]) == 2
    err = capsys.readouterr().err
    assert "'img'" in err and "dynamic dim 2" in err and "--input-shape" in err
    rep = convert(tmp_path / "dyn.onnx", tmp_path / "d.tflite", input_shapes=["img:1,3,4,5"])
    assert rep.inputs_after[0].shape == (1, 4, 5, 3) and rep.verified
    old = onnx.parser.parse_model("""<ir_version: 3, opset_import: ["" : 5]>
        g (float[2] x) => (float[2] y) { y = Relu(x) }""")
    onnx.save(old, tmp_path / "old.onnx")
    # upgraded by onnx.version_converter (ONNX Runtime itself no longer runs opset 5: compare with numpy)
    convert(tmp_path / "old.onnx", tmp_path / "old.tflite", verify=False)
    x = np.array([-1.5, 2.0], np.float32)
    np.testing.assert_array_equal(litert_run((tmp_path / "old.tflite").read_bytes(), {"x": x})["y"], np.maximum(x, 0))


def test_too_old_opset_without_upgrade_path(tmp_path, monkeypatch):
    def refuse(model, target):
        raise RuntimeError("no adapter")

    monkeypatch.setattr(onnx.version_converter, "convert_version", refuse)
    old = onnx.parser.parse_model("""<ir_version: 3, opset_import: ["" : 5]>
        g (float[2] x) => (float[2] y) { y = Relu(x) }""")
    onnx.save(old, tmp_path / "old.onnx")
    with pytest.raises(UnsupportedOpError, match="opset 5 is too old"):
        convert(tmp_path / "old.onnx", tmp_path / "old.tflite")


def test_verification_failure_keeps_no_output(tmp_path, monkeypatch):
    from edgeport.convert.tflite.ops import elementwise

    onnx.save(make_model([helper.make_node("Relu", ["x"], ["y"])], [("x", [2, 8])], [("y", None)]),
              tmp_path / "m.onnx")
    monkeypatch.setitem(elementwise.UNARY, "Relu", "TANH")  # a deliberately wrong lowering
    with pytest.raises(VerificationError) as e:
        convert(tmp_path / "m.onnx", tmp_path / "o.tflite")
    assert e.value.report is not None and not e.value.report.passed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]
    rep = convert(tmp_path / "m.onnx", tmp_path / "o.tflite", verify=False)
    assert rep.verification is None and (tmp_path / "o.tflite").exists()


def test_initializers_listed_as_inputs_ir3(tmp_path):
    w = rng.standard_normal((2, 3)).astype(np.float32)
    g = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g",
                          [helper.make_tensor_value_info("x", 1, [4, 2]), helper.make_tensor_value_info("w", 1, [2, 3])],
                          [helper.make_tensor_value_info("y", 1, [4, 3])], [onnx.numpy_helper.from_array(w, "w")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 9)])
    m.ir_version = 3
    onnx.save(m, tmp_path / "ir3.onnx")
    rep = convert(tmp_path / "ir3.onnx", tmp_path / "ir3.tflite")
    assert rep.verified and [s.name for s in rep.inputs_after] == ["x"]
