"""Real model graphs: the onnx wheel's light models (weights randomized) and YOLOv8 / MobileNetV3 /
transformer style torch models, converted and compared with ONNX Runtime."""

import glob
import os

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from edgeport.convert import convert
from test_tflite_util import litert_run, ort_run

LIGHT = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "light")
rng = np.random.default_rng(8)


def _randomized(name: str) -> onnx.ModelProto:
    """The light model with its ConstantOfShape weights replaced by He-scaled random ones (BN params > 0)."""
    m = onnx.load(os.path.join(LIGHT, f"light_{name}.onnx"))
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    keep = []
    for n in m.graph.node:
        if n.op_type == "ConstantOfShape" and n.input[0] in inits:
            shape = [int(d) for d in inits[n.input[0]]]
            if len(shape) >= 2:
                arr = rng.standard_normal(shape) * np.sqrt(2.0 / np.prod(shape[1:]))
            else:
                arr = rng.uniform(0.5, 1.5, shape)
            m.graph.initializer.append(numpy_helper.from_array(arr.astype(np.float32), n.output[0]))
        else:
            keep.append(n)
    del m.graph.node[:]
    m.graph.node.extend(keep)
    return m


def _check(m: onnx.ModelProto, tmp_path, max_transposes=None, **kw):
    src = tmp_path / "m.onnx"
    onnx.save(m, src)
    rep = convert(src, tmp_path / "m.tflite", verify=False, **kw)
    feeds = {}
    inits = {t.name for t in m.graph.initializer}
    for i in m.graph.input:
        if i.name not in inits:
            shape = [d.dim_value for d in i.type.tensor_type.shape.dim]
            feeds[i.name] = rng.standard_normal(shape).astype(np.float32)
    ref = ort_run(m, feeds)
    got = litert_run((tmp_path / "m.tflite").read_bytes(), feeds)
    for o, r in zip(m.graph.output, ref):
        g = got[o.name]
        if g.shape != r.shape and g.ndim == 4:
            g = g.transpose(0, 3, 1, 2)
        span = float(r.max() - r.min()) or 1.0
        assert np.abs(g - r).max() / span < 1e-4, o.name
        if r.ndim == 2 and r.shape[1] > 10:
            assert not np.allclose(r, r.mean()), "degenerate reference output"
    if max_transposes is not None:
        assert rep.transposes_result <= max_transposes
    return rep


@pytest.mark.parametrize("name", ["squeezenet", "shufflenet", "inception_v1"])
def test_light_models_small(name, tmp_path):
    rep = _check(_randomized(name), tmp_path)
    # none: shufflenet's 16 channel shuffles are folded into the grouped 1x1 convs before them
    assert rep.transposes_result == 0
    if name == "shufflenet":
        assert rep.transposes_source == 16 and "GATHER" not in rep.result_ops


@pytest.mark.slow
@pytest.mark.parametrize("name", ["resnet50", "densenet121", "inception_v2", "bvlc_alexnet", "zfnet512", "vgg19"])
def test_light_models_large(name, tmp_path):
    rep = _check(_randomized(name), tmp_path)
    assert rep.transposes_result == 0


def test_light_models_present():
    assert len(glob.glob(os.path.join(LIGHT, "light_*.onnx"))) >= 9


torch = pytest.importorskip("torch")


def _export(module, shape, tmp_path):
    import warnings

    from test_convert_zoo import randomize_bn

    randomize_bn(module)
    path = tmp_path / "t.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval(), torch.randn(*shape), str(path), input_names=["images"],
                          output_names=["out"], opset_version=17, dynamo=False)
    return onnx.load(path)


def test_yolov8_style(tmp_path):
    from test_convert_zoo import YoloLike

    rep = _check(_export(YoloLike(w=8), (1, 3, 64, 64), tmp_path), tmp_path)
    # the head reshapes [N,C,H,W] -> [N,C,H*W] stay channels-last: no more Transposes than the source has
    assert rep.transposes_result <= rep.transposes_source
    assert {"FILL", "SHAPE"}.isdisjoint(rep.result_ops)


def test_mobilenet_v3_style(tmp_path):
    from test_convert_zoo import MBV3Block

    rep = _check(_export(MBV3Block(), (1, 3, 32, 32), tmp_path), tmp_path)
    assert rep.transposes_result == 0
    assert {"DEPTHWISE_CONV_2D", "HARD_SWISH", "MEAN"} <= set(rep.result_ops)


def test_transformer_block(tmp_path):
    from test_convert_zoo import TransformerBlock

    rep = _check(_export(TransformerBlock(), (1, 8, 32), tmp_path), tmp_path)
    assert {"GELU", "BATCH_MATMUL", "FULLY_CONNECTED", "SOFTMAX"} <= set(rep.result_ops)
