"""Bad input: one ModelFormatError with a hint, never a crash."""

from __future__ import annotations

import pickle
import zipfile

import pytest

from edgeport.errors import ModelFormatError
from edgeport.model import check_file, open_model, sniff_format


@pytest.mark.parametrize("name,content,match", [
    ("empty.onnx", b"", "empty"),
    ("notes.txt", b"hello world, not a model", "unknown model format"),
    ("text.onnx", b"hello world", "not an ONNX"),
    ("junk.tflite", b"\x00" * 64, "TFL3"),
    ("junk.pt2", b"\x00" * 64, "torch.export"),
])
def test_not_a_model(tmp_path, name, content, match):
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(ModelFormatError, match=match) as e:
        open_model(p)
    assert e.value.hint and "\n" not in e.value.one_line()


def test_missing_and_folder(tmp_path):
    with pytest.raises(ModelFormatError, match="no such file"):
        open_model(tmp_path / "nope.onnx")
    with pytest.raises(ModelFormatError, match="folder"):
        open_model(tmp_path)


@pytest.mark.parametrize("fixture", ["onnx_path", "tflite_conv_path", "openvino_path", "pt2_path", "torchscript_path"])
def test_truncated(request, tmp_path, fixture):
    src = request.getfixturevalue(fixture)
    data = src.read_bytes()
    dst = tmp_path / ("cut" + src.suffix)
    for n in (len(data) // 2, len(data) - 3):
        dst.write_bytes(data[:n])
        with pytest.raises(ModelFormatError) as e:
            check_file(dst)
        assert e.value.hint


def test_openvino_bin_problems(openvino_path, tmp_path):
    xml = tmp_path / "m.xml"
    xml.write_bytes(openvino_path.read_bytes())
    with pytest.raises(ModelFormatError, match="missing"):
        check_file(xml)
    (tmp_path / "m.bin").write_bytes(openvino_path.with_suffix(".bin").read_bytes()[:10])
    with pytest.raises(ModelFormatError, match="has 10 bytes but the layers need 512"):
        open_model(xml)
    with pytest.raises(ModelFormatError, match="weights file of an OpenVINO IR") as e:
        open_model(tmp_path / "m.bin")
    assert "pass m.xml" in e.value.hint


def test_xml_entities_rejected(tmp_path):
    p = tmp_path / "bomb.xml"
    p.write_text('<?xml version="1.0"?><!DOCTYPE net [<!ENTITY a "aaaa">]><net><layers/></net>')
    with pytest.raises(ModelFormatError, match="DOCTYPE"):
        open_model(p)


def test_plain_torch_save_checkpoint(tmp_path):
    p = tmp_path / "weights.pt"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("weights/data.pkl", pickle.dumps({"w": 1}))
        z.writestr("weights/version", "3")
    with pytest.raises(ModelFormatError, match="torch.save checkpoint") as e:
        sniff_format(p)
    assert "torch.jit.save" in e.value.hint


def test_legacy_pickle_checkpoint(tmp_path):
    p = tmp_path / "old.pt"
    p.write_bytes(pickle.dumps({"w": [1.0]}, protocol=2))
    with pytest.raises(ModelFormatError, match="legacy torch.save"):
        open_model(p)


def test_format_mismatch(onnx_path):
    with pytest.raises(ModelFormatError, match="expected a tflite model"):
        check_file(onnx_path, "tflite")
    with pytest.raises(ModelFormatError, match="unknown model format"):
        check_file(onnx_path, "caffe")
