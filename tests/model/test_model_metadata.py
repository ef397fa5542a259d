"""Metadata round trips, each checked through the format's own reader (onnxruntime, LiteRT, OpenVINO, torch)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgeport.errors import ModelFormatError
from edgeport.model import ModelMetadata, open_model, read_metadata, write_metadata

META = ModelMetadata(labels=["cat", "dog"], mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225],
                     version="1.2.0", description="tiny test net", extra={"author": "tests"})


def _roundtrip(src, tmp_path):
    out = tmp_path / ("with_meta" + src.suffix)
    assert read_metadata(src).is_empty()
    write_metadata(src, META, out)
    assert read_metadata(out) == META
    assert open_model(out).metadata == META
    meta2 = ModelMetadata(labels=["a"], version="2")
    write_metadata(out, meta2)  # in place, replacing the old entry
    assert read_metadata(out) == meta2
    write_metadata(out, META)
    return out


def test_onnx_metadata_props(onnx_path, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    out = _roundtrip(onnx_path, tmp_path)
    props = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).get_modelmeta().custom_metadata_map
    assert props["edgeport.labels"] == '["cat", "dog"]' and props["edgeport.version"] == "1.2.0"


def test_tflite_metadata_buffer_still_runs(tflite_fc_path, tmp_path):
    from ai_edge_litert.interpreter import Interpreter

    out = _roundtrip(tflite_fc_path, tmp_path)
    assert open_model(out).inspect().details["metadata_entries"] == ["edgeport"]
    x = np.array([[0.5, -1.0, 2.0, 0.25]], np.float32)
    ys = []
    for p in (tflite_fc_path, out):
        it = Interpreter(model_path=str(p))
        it.allocate_tensors()
        it.set_tensor(it.get_input_details()[0]["index"], x)
        it.invoke()
        ys.append(it.get_tensor(it.get_output_details()[0]["index"]))
    np.testing.assert_array_equal(ys[0], ys[1])


def test_openvino_rt_info(openvino_path, tmp_path):
    ov = pytest.importorskip("openvino")
    out = _roundtrip(openvino_path, tmp_path)
    ref = ov.Core().read_model(str(out))
    assert ref.get_rt_info("edgeport_labels").astype(str) == '["cat", "dog"]'
    assert ref.get_rt_info("edgeport_version").astype(str) == "1.2.0"
    assert out.with_suffix(".bin").read_bytes() == openvino_path.with_suffix(".bin").read_bytes()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("fixture", ["torchscript_path", "pt2_path"])
def test_torch_archives_keep_loading(request, tmp_path, fixture):
    torch = pytest.importorskip("torch")
    src = request.getfixturevalue(fixture)
    out = _roundtrip(src, tmp_path)
    x = torch.randn(1, 3, 8, 8)
    if fixture == "torchscript_path":
        extra = {"edgeport.json": ""}
        mod = torch.jit.load(str(out), _extra_files=extra)
        assert b'"cat"' in extra["edgeport.json"]
        torch.testing.assert_close(mod(x), torch.jit.load(str(src))(x))
    else:
        torch.testing.assert_close(torch.export.load(str(out)).module()(x), torch.export.load(str(src)).module()(x))


def test_invalid_metadata_rejected(tflite_fc_path, tmp_path):
    with pytest.raises(ModelFormatError, match="NaN"):
        write_metadata(tflite_fc_path, ModelMetadata(mean=[float("nan")]), tmp_path / "x.tflite")
    with pytest.raises(ModelFormatError, match="extension"):
        write_metadata(tflite_fc_path, META, tmp_path / "x.onnx")
    assert not (tmp_path / "x.tflite").exists()


_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=20)
_floats = st.lists(st.floats(allow_nan=False, allow_infinity=False, width=32), max_size=4)
_meta = st.builds(ModelMetadata, labels=st.lists(_text, max_size=5), mean=st.none() | _floats,
                  std=st.none() | _floats, version=st.none() | _text, description=st.none() | _text,
                  extra=st.dictionaries(st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True), _text, max_size=3))


@pytest.mark.parametrize("fixture", ["onnx_path", "tflite_fc_path", "openvino_path"])
def test_metadata_roundtrip_property(request, tmp_path_factory, fixture):
    """Any metadata (unicode labels, floats, extra keys) comes back equal from every format."""
    src = request.getfixturevalue(fixture)
    out = tmp_path_factory.mktemp("prop") / ("m" + src.suffix)

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(meta=_meta)
    def check(meta):
        write_metadata(src, meta, out)
        got = read_metadata(out)
        if fixture == "onnx_path" and meta.version is None:
            got.version = None  # ONNX falls back to model_version / doc_string when the key is absent
        assert got == meta

    check()


def test_openvino_rejects_xml_control_chars(openvino_path, tmp_path):
    with pytest.raises(ModelFormatError, match="control characters"):
        write_metadata(openvino_path, ModelMetadata(description="bell\x07"), tmp_path / "m.xml")
