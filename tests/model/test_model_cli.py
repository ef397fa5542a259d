"""``edgeport inspect``: Rich output, --json, and one-line errors with exit code 2."""

from __future__ import annotations

import json

import pytest

from edgeport.cli.app import main
from edgeport.model import ModelMetadata, write_metadata


def test_inspect_json(capsys, onnx_path):
    assert main(["inspect", str(onnx_path), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["format"] == "onnx" and d["macs"] == 4 * 8 * 8 * 27 + 8 and d["flops"] == 2 * d["macs"]
    assert d["inputs"] == [{"name": "x", "shape": ["N", 3, 8, 8], "dtype": "float32", "layout": "NCHW"}]
    assert list(d["op_histogram"].values()) == [1, 1, 1, 1, 1]


def test_inspect_rich(capsys, tflite_conv_path, tmp_path):
    out = tmp_path / "labeled.tflite"
    write_metadata(tflite_conv_path, ModelMetadata(labels=["a", "b"], version="7"), out)
    assert main(["inspect", str(out)]) == 0
    text = capsys.readouterr().out
    for needle in ("tflite", "CONV_2D", "[1, 8, 8, 3]", "NHWC", "3.89 K", "labels", "a, b", "112"):
        assert needle in text, needle


@pytest.mark.parametrize("content,name", [(b"garbage" * 10, "bad.tflite"), (b"", "empty.onnx"),
                                          (b"<html></html>", "page.html")])
def test_inspect_bad_file(capsys, tmp_path, content, name):
    p = tmp_path / name
    p.write_bytes(content)
    assert main(["inspect", str(p)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and len(err.splitlines()) == 1 and "(" in err


def test_inspect_truncated_openvino(capsys, openvino_path, tmp_path):
    xml = tmp_path / "m.xml"
    xml.write_bytes(openvino_path.read_bytes()[:300])
    assert main(["inspect", str(xml)]) == 2
    assert "not well-formed" in capsys.readouterr().err
