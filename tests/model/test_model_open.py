"""open_model / inspect per format: signatures checked against the reference runtimes, MACs by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

import edgeport
from edgeport.model import open_model
from tests.support import tflite_builder as tb

CONV_MACS_ONNX = 4 * 8 * 8 * (3 * 3 * 3)  # Conv out [1,4,8,8] (pad 1) x 27 MACs each
MATMUL_MACS_ONNX = 1 * 2 * 4


def test_onnx_signature_matches_onnxruntime(onnx_path):
    ort = pytest.importorskip("onnxruntime")
    m = edgeport.open(onnx_path)
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    assert m.format == "onnx"
    assert [(t.name, list(t.shape)) for t in m.inputs] == [(i.name, i.shape) for i in sess.get_inputs()]
    assert [(t.name, list(t.shape)) for t in m.outputs] == [(o.name, o.shape) for o in sess.get_outputs()]
    assert m.inputs[0].dtype == "float32" and m.inputs[0].layout == "NCHW"
    assert m.size_bytes == onnx_path.stat().st_size


def test_onnx_inspect_counts(onnx_path):
    import onnx

    r = open_model(onnx_path).inspect()
    proto = onnx.load(str(onnx_path))
    assert r.op_histogram == {"Conv": 1, "Relu": 1, "GlobalAveragePool": 1, "Flatten": 1, "MatMul": 1}
    assert r.params == sum(math.prod(i.dims) for i in proto.graph.initializer) == 108 + 4 + 8
    assert r.macs == CONV_MACS_ONNX + MATMUL_MACS_ONNX
    assert r.flops == 2 * r.macs
    d = r.to_dict()
    assert d["details"]["opsets"] == {"ai.onnx": 17} and d["macs"] == r.macs
    assert d["inputs"][0]["shape"] == ["N", 3, 8, 8]


def test_onnx_external_data(onnx_external_path, onnx_path):
    m = open_model(onnx_external_path)
    r = m.inspect()
    assert r.details["external_data"] is True
    assert r.params == open_model(onnx_path).inspect().params
    data = onnx_external_path.with_suffix(".data")
    saved = data.read_bytes()
    try:
        data.write_bytes(saved[:100])
        with pytest.raises(edgeport.errors.ModelFormatError, match="too short"):
            open_model(onnx_external_path)
        data.unlink()
        with pytest.raises(edgeport.errors.ModelFormatError, match="missing") as e:
            open_model(onnx_external_path)
        assert "beside" in e.value.hint
    finally:
        data.write_bytes(saved)


def test_openvino_signature_and_counts(openvino_path):
    ov = pytest.importorskip("openvino")
    m = open_model(openvino_path)
    ref = ov.Core().read_model(str(openvino_path))
    assert m.format == "openvino"
    assert [t.name for t in m.inputs] == [i.get_any_name() for i in ref.inputs]
    assert [t.name for t in m.outputs] == [o.get_any_name() for o in ref.outputs]
    assert m.inputs[0].shape == ("batch", 3, 8, 8) and m.inputs[0].layout == "NCHW"
    r = m.inspect()
    assert r.macs == CONV_MACS_ONNX + MATMUL_MACS_ONNX
    assert r.params == 120
    assert r.op_histogram["Convolution"] == 1 and r.op_histogram["MatMul"] == 1
    assert m.size_bytes == openvino_path.stat().st_size + openvino_path.with_suffix(".bin").stat().st_size


def test_tflite_signature_matches_interpreter(tflite_conv_path):
    from ai_edge_litert.interpreter import Interpreter

    m = open_model(tflite_conv_path)
    it = Interpreter(model_path=str(tflite_conv_path))
    for spec, det in zip(m.inputs + m.outputs, it.get_input_details() + it.get_output_details()):
        assert spec.name == det["name"]
        assert list(spec.shape) == det["shape"].tolist()
        assert np.dtype(spec.dtype) == det["dtype"]
    assert m.inputs[0].layout == "NHWC"
    r = m.inspect()
    assert r.op_histogram == {"CONV_2D": 1}
    assert r.macs == 6 * 6 * 4 * (3 * 3 * 3)
    assert r.params == 4 * 3 * 3 * 3 + 4


def test_tflite_fc_and_dynamic_batch(tmp_path):

    path = tmp_path / "dyn.tflite"
    tb.fc_softmax_model(path, dynamic_batch=True)
    m = open_model(path)
    assert m.inputs[0].shape == ("batch", 4) and m.outputs[0].shape == ("batch", 3)
    r = m.inspect()
    assert r.op_histogram == {"FULLY_CONNECTED": 1, "SOFTMAX": 1}
    assert r.macs == 3 * 4 and r.params == 12 + 3


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_torchscript(torchscript_path):
    torch = pytest.importorskip("torch")
    m = open_model(torchscript_path)
    assert m.format == "torchscript"
    assert m.inputs[0].shape == (1, 3, 8, 8) and m.inputs[0].dtype == "float32"
    r = m.inspect()
    ref = torch.jit.load(str(torchscript_path))
    assert r.params == sum(p.numel() for p in ref.parameters()) == 108 + 4 + 8 + 2
    assert r.op_histogram.get("aten::linear") == 1
    assert r.macs == 4 * 6 * 6 * 27 + 2 * 4  # counted by a forward on meta tensors
    assert m.outputs[0].shape == tuple(ref(torch.zeros(1, 3, 8, 8)).shape) == (1, 2)


def test_pt2(pt2_path):
    m = open_model(pt2_path)
    assert m.format == "pt2"
    assert [(t.name, t.shape) for t in m.inputs] == [("x", (1, 3, 8, 8))]
    assert m.outputs[0].shape == (1, 2)
    r = m.inspect()
    assert r.op_histogram == {"aten.conv2d": 1, "aten.mean": 1, "aten.linear": 1}
    assert r.macs == 4 * 6 * 6 * 27 + 2 * 4
    assert r.params == 122


def test_content_beats_extension(onnx_path, tflite_fc_path, tmp_path):
    from edgeport.model import sniff_format

    odd = tmp_path / "model.bin.weird"
    odd.write_bytes(tflite_fc_path.read_bytes())
    assert sniff_format(odd) == "tflite"
    mislabeled = tmp_path / "really_onnx.tflite"
    mislabeled.write_bytes(onnx_path.read_bytes())
    with pytest.raises(edgeport.errors.ModelFormatError):
        sniff_format(mislabeled)  # an ONNX protobuf has no TFL3 identifier: the .tflite name is not trusted
    noext = tmp_path / "model"
    noext.write_bytes(onnx_path.read_bytes())
    assert open_model(noext).format == "onnx"


def test_pt2_dynamic_batch(tmp_path):
    torch = pytest.importorskip("torch")
    from tests.model.model_fixtures import TinyNet

    net, _ = TinyNet.make()
    ep = torch.export.export(net, (torch.randn(2, 3, 8, 8),), dynamic_shapes={"x": {0: torch.export.Dim("batch")}})
    torch.export.save(ep, str(tmp_path / "dyn.pt2"))
    m = open_model(tmp_path / "dyn.pt2")
    batch = m.inputs[0].shape[0]
    assert isinstance(batch, str) and m.inputs[0].shape[1:] == (3, 8, 8)
    assert m.outputs[0].shape == (batch, 2) and not m.inputs[0].is_static
    r = m.inspect()
    assert r.macs == 4 * 6 * 6 * 27 + 2 * 4  # per item: the dynamic batch counts as 1
    assert r.details["macs_note"] == "dynamic dims counted as 1"


def test_tflite_depthwise_macs(tmp_path):
    from ai_edge_litert import schema_py_generated as s
    from ai_edge_litert.interpreter import Interpreter

    w = np.ones((1, 3, 3, 4), np.float32)
    opts = s.DepthwiseConv2DOptionsT()
    opts.padding, opts.strideW, opts.strideH, opts.depthMultiplier = s.Padding.VALID, 1, 1, 1
    opts.dilationWFactor = opts.dilationHFactor = 1
    path = tb.build_model(
        tmp_path / "dw.tflite",
        [tb.tensor("x", [1, 8, 8, 4], 0), tb.tensor("w", [1, 3, 3, 4], 1),
         tb.tensor("b", [4], 2), tb.tensor("y", [1, 6, 6, 4], 0)],
        [tb.buffer(), tb.buffer(w), tb.buffer(np.zeros(4, np.float32))],
        [tb.opcode(s.BuiltinOperator.DEPTHWISE_CONV_2D)],
        [tb.op(0, [0, 1, 2], [3], s.BuiltinOptions.DepthwiseConv2DOptions, opts)], [0], [3])
    it = Interpreter(model_path=str(path))
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], np.ones((1, 8, 8, 4), np.float32))
    it.invoke()
    assert it.get_tensor(it.get_output_details()[0]["index"]).flat[0] == 9.0  # the fixture is a real depthwise conv
    r = open_model(path).inspect()
    assert r.macs == 6 * 6 * 4 * 9 and r.params == 36 + 4


def test_onnx_grouped_conv_and_gemm_macs(tmp_path):
    import onnx
    from onnx import TensorProto as T
    from onnx import helper as h
    from onnx import numpy_helper as nh

    inits = [nh.from_array(np.ones((4, 2, 3, 3), np.float32), "W"),  # group=2: each output sees 2 channels
             nh.from_array(np.ones((5, 144), np.float32), "G")]  # Gemm with transB: [1,144] x [144,5]
    nodes = [h.make_node("Conv", ["x", "W"], ["c"], group=2), h.make_node("Flatten", ["c"], ["f"]),
             h.make_node("Gemm", ["f", "G"], ["y"], transB=1)]
    g = h.make_graph(nodes, "g", [h.make_tensor_value_info("x", T.FLOAT, [1, 4, 8, 8])],
                     [h.make_tensor_value_info("y", T.FLOAT, [1, 5])], inits)
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, str(tmp_path / "g.onnx"))
    r = open_model(tmp_path / "g.onnx").inspect()
    assert r.macs == (1 * 4 * 6 * 6) * (2 * 3 * 3) + 5 * 144
