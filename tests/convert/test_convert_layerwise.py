"""``convert --layerwise`` on a transformer-like graph (Conv1d stem, channels-last 3-D values, LayerNorm,
MatMul) and the view alignment it relies on (verify_data.align_to)."""

import numpy as np
import onnx
from onnx import helper

from edgeport.convert.api import convert
from edgeport.convert.verify_data import align_to
from test_tflite_util import make_model

rng = np.random.default_rng(4)


def test_align_to_channels_last_and_lifted_views():
    ref = rng.random((1, 6, 9)).astype(np.float32)
    views = dict((note, a) for a, note in align_to(ref.shape, ref.transpose(0, 2, 1)))  # stored [N, L, C]
    assert np.array_equal(views["NCW->NWC"], ref)
    lifted = ref.reshape(1, 6, 1, 9).transpose(0, 2, 3, 1)  # a Conv1d lifted to 2-D, stored NHWC
    views = dict((note, a) for a, note in align_to(ref.shape, lifted))
    assert np.array_equal(views["NHWC->NCHW+reshaped"], ref)
    square = rng.random((1, 8, 8))  # both views fit: both are offered, as-is first
    notes = [note for _, note in align_to(square.shape, square.transpose(0, 2, 1))]
    assert notes[0] is None and "NCW->NWC" in notes


def test_layerwise_transformer_like(tmp_path):
    f = lambda *s: rng.standard_normal(s).astype(np.float32)  # noqa: E731
    m = make_model([helper.make_node("Conv", ["x", "w1"], ["c1"], pads=[1, 1]),
                    helper.make_node("Relu", ["c1"], ["r1"]),
                    helper.make_node("Transpose", ["r1"], ["t"], perm=[0, 2, 1]),
                    helper.make_node("LayerNormalization", ["t", "g", "b"], ["ln"], axis=-1),
                    helper.make_node("MatMul", ["ln", "wm"], ["mm"]),
                    helper.make_node("Transpose", ["mm"], ["t2"], perm=[0, 2, 1]),
                    helper.make_node("Conv", ["t2", "w3"], ["y"])],
                   [("x", [1, 16, 24])], [("y", None)],
                   {"w1": f(16, 16, 3), "g": f(16), "b": f(16), "wm": f(16, 16), "w3": f(8, 16, 1)})
    src = tmp_path / "m.onnx"
    onnx.save(m, str(src))
    rep = convert(str(src), tmp_path / "m.tflite", verify=True, layerwise=True)
    layers = rep.to_dict()["verification"]["layers"]
    by_name = {r["name"]: r for r in layers}
    assert {"c1", "t", "mm", "y"} <= set(by_name)
    assert all(r["passed"] for r in layers), [(r["name"], r["max_rel"]) for r in layers]
    assert by_name["c1"]["transposed"] == "NCW->NWC"  # [N, C, L] stored channels-last
