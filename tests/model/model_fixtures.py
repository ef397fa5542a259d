"""Model builders shared by tests/model and tests/test_fuzz.py (ONNX conv net, torch TinyNet)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["make_onnx_conv", "TinyNet"]


def make_onnx_conv(path: Path, external: bool = False) -> Path:
    """x[N,3,8,8] -> Conv(4x3x3x3, pad 1) -> Relu -> GlobalAveragePool -> Flatten -> MatMul(4x2) -> y[N,2]."""
    import onnx
    from onnx import TensorProto as T
    from onnx import helper as h
    from onnx import numpy_helper as nh

    rng = np.random.default_rng(0)
    inits = [nh.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "W"),
             nh.from_array(rng.standard_normal(4).astype(np.float32), "B"),
             nh.from_array(rng.standard_normal((4, 2)).astype(np.float32), "W2")]
    nodes = [h.make_node("Conv", ["x", "W", "B"], ["c"], pads=[1, 1, 1, 1]), h.make_node("Relu", ["c"], ["r"]),
             h.make_node("GlobalAveragePool", ["r"], ["g"]), h.make_node("Flatten", ["g"], ["f"]),
             h.make_node("MatMul", ["f", "W2"], ["y"])]
    g = h.make_graph(nodes, "net", [h.make_tensor_value_info("x", T.FLOAT, ["N", 3, 8, 8])],
                     [h.make_tensor_value_info("y", T.FLOAT, ["N", 2])], inits)
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)], producer_name="edgeport-tests")
    m.ir_version = 8
    onnx.checker.check_model(m)
    if external:
        onnx.save_model(m, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                        location=path.stem + ".data", size_threshold=0)
    else:
        onnx.save_model(m, str(path))
    return path


class TinyNet:
    """Factory for the torch fixture module (Conv2d 3->4 k3, mean, Linear 4->2)."""

    @staticmethod
    def make():
        import torch

        class Net(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.c = torch.nn.Conv2d(3, 4, 3)
                self.l = torch.nn.Linear(4, 2)

            def forward(self, x):
                return self.l(self.c(x).mean((2, 3)))

        torch.manual_seed(0)
        return Net().eval(), torch.randn(1, 3, 8, 8)
