"""Fixtures for runtime tests: tiny models built by code (ONNX, OpenVINO IR, TFLite, torch)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from tests.runtime.runtime_models import B, C, W, mlp_reference, make_mlp_onnx, make_two_input_onnx  # noqa: F401
from tests.support.tflite_builder import fc_add_model


@pytest.fixture(scope="session")
def models(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("runtime_models")
    out = {"onnx": make_mlp_onnx(d / "mlp.onnx"), "onnx_static": make_mlp_onnx(d / "mlp_static.onnx", batch=2),
           "two": make_two_input_onnx(d / "two.onnx"), "linked": make_linked_dims_onnx(d / "linked.onnx"),
           "cnn": make_cnn_onnx(d / "cnn.onnx")}
    return out


@pytest.fixture(scope="session")
def ov_model(models, tmp_path_factory) -> Path:
    ov = pytest.importorskip("openvino")
    d = tmp_path_factory.mktemp("ov")
    ov.save_model(ov.convert_model(str(models["onnx"])), str(d / "mlp.xml"), compress_to_fp16=False)
    return d / "mlp.xml"


@pytest.fixture(scope="session")
def tflite_model(tmp_path_factory) -> Path:
    """y = x @ W.T + B + C (FULLY_CONNECTED + ADD), dynamic batch."""
    d = tmp_path_factory.mktemp("tfl")
    return fc_add_model(d / "fc.tflite", W, B, C, dynamic_batch=True)


@pytest.fixture(scope="session")
def torch_models(tmp_path_factory) -> dict[str, Path]:
    torch = pytest.importorskip("torch")
    d = tmp_path_factory.mktemp("torch")

    class MLP(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(3, 4)
            with torch.no_grad():
                self.fc.weight.copy_(torch.from_numpy(W))
                self.fc.bias.copy_(torch.from_numpy(B))
            self.register_buffer("c", torch.from_numpy(C.copy()))

        def forward(self, x):
            return torch.relu(self.fc(x)) + self.c

    m = MLP().eval()
    ex = (torch.zeros(2, 3),)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TorchScript is deprecated but still a format we run
        torch.jit.save(torch.jit.trace(m, ex), str(d / "mlp.pt"))
    batch = torch.export.Dim("batch", min=1, max=64)
    ep = torch.export.export(m, ex, dynamic_shapes={"x": {0: batch}})
    torch.export.save(ep, str(d / "mlp.pt2"))
    return {"torchscript": d / "mlp.pt", "pt2": d / "mlp.pt2"}


def make_linked_dims_onnx(path: Path) -> Path:
    """s = a + b with a, b both [N, 2] (N a shared named dynamic dim)."""
    a = helper.make_tensor_value_info("a", TensorProto.FLOAT, ["N", 2])
    b = helper.make_tensor_value_info("b", TensorProto.FLOAT, ["N", 2])
    s = helper.make_tensor_value_info("s", TensorProto.FLOAT, ["N", 2])
    m = helper.make_model(helper.make_graph([helper.make_node("Add", ["a", "b"], ["s"])], "linked", [a, b], [s]),
                          opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, path)
    return path


def make_cnn_onnx(path: Path) -> Path:
    """A small doodle-like CNN: [N,1,12,12] -> Conv4 3x3 -> Relu -> MaxPool2 -> Reshape -> MatMul -> Softmax."""
    rng = np.random.default_rng(5)
    inits = [numpy_helper.from_array(rng.standard_normal((4, 1, 3, 3)).astype(np.float32), "cw"),
             numpy_helper.from_array(rng.standard_normal(4).astype(np.float32), "cb"),
             numpy_helper.from_array(np.array([-1, 100], np.int64), "flat"),
             numpy_helper.from_array((rng.standard_normal((100, 10)) * 0.1).astype(np.float32), "fw")]
    n = helper.make_node
    nodes = [n("Conv", ["x", "cw", "cb"], ["c"]), n("Relu", ["c"], ["r"]),
             n("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]), n("Reshape", ["p", "flat"], ["f"]),
             n("MatMul", ["f", "fw"], ["l"]), n("Softmax", ["l"], ["probs"], axis=-1)]
    g = helper.make_graph(nodes, "cnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 12, 12])],
                          [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", 10])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, path)
    return path
