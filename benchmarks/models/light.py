"""The light models shipped in the onnx wheel (onnx/backend/test/data/light), with real weights.

Their weights are ``ConstantOfShape`` nodes (so the files stay small, and every weight is one
value). ``materialize`` replaces each by a seeded random initializer of the same shape, scaled like
a trained network's (He-normal for Conv/Gemm weights, BatchNorm statistics near 1/0), so that the
outputs are not degenerate and parity figures mean something.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

__all__ = ["LIGHT_DIR", "light_model_path", "materialize", "available"]

LIGHT_DIR = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"


def available() -> list[str]:
    return sorted(p.stem.removeprefix("light_") for p in LIGHT_DIR.glob("light_*.onnx"))


def light_model_path(name: str) -> Path:
    p = LIGHT_DIR / f"light_{name}.onnx"
    if not p.exists():
        raise FileNotFoundError(f"no light model {name!r}; have {', '.join(available())}")
    return p


def _init_values(shape: tuple[int, ...], op: str, slot: int, rng: np.random.Generator) -> np.ndarray:
    if op in ("Conv", "ConvTranspose", "Gemm", "MatMul") and slot == 1 and len(shape) >= 2:
        fan_in = int(np.prod(shape[1:])) if op != "MatMul" else shape[0]
        return (rng.standard_normal(shape) * np.sqrt(2.0 / max(fan_in, 1))).astype(np.float32)
    if op == "BatchNormalization" and slot in (1, 4):  # scale, variance
        return rng.uniform(0.5, 1.5, shape).astype(np.float32)
    if op == "Mul":  # decomposed BN scale
        return rng.uniform(0.5, 1.5, shape).astype(np.float32)
    return (rng.standard_normal(shape) * 0.1).astype(np.float32)


_HOMOGENEOUS = {"Relu", "GlobalAveragePool", "AveragePool", "MaxPool", "Reshape", "Flatten", "Dropout", "Identity"}


def _calibrate_head(model: onnx.ModelProto, rng: np.random.Generator, target_std: float = 2.0) -> None:
    """Scale the last Conv/Gemm before Softmax so that the logits have std ~2 on a random input.

    Random weights without trained BatchNorm statistics let activations grow layer after layer;
    the softmax then saturates to one-hot and any parity figure reads 0. Scaling commutes with the
    positively homogeneous ops (ReLU, pooling, reshapes) between that layer and the Softmax.
    """
    import onnxruntime as ort

    g = model.graph
    producer = {o: n for n in g.node for o in n.output}
    soft = [n for n in g.node if n.op_type == "Softmax"]
    if not soft:
        return
    logits = soft[-1].input[0]
    node = producer.get(logits)
    while node is not None and node.op_type in _HOMOGENEOUS:
        node = producer.get(node.input[0])
    inits = {i.name: i for i in g.initializer}
    if node is None or node.op_type not in ("Conv", "Gemm", "MatMul") or node.input[1] not in inits:
        return
    m = onnx.ModelProto()
    m.CopyFrom(model)
    m.graph.output.append(onnx.helper.make_empty_tensor_value_info(logits))
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    feeds = {}
    for i in sess.get_inputs():
        shape = [d if isinstance(d, int) else 1 for d in i.shape]
        feeds[i.name] = rng.random(shape, dtype=np.float32)
    out = sess.run([logits], feeds)[0]
    std = float(np.std(out))
    if not np.isfinite(std) or std == 0:
        return
    scale = target_std / std
    for name in node.input[1:3]:
        if name in inits:
            arr = numpy_helper.to_array(inits[name]) * np.float32(scale)
            inits[name].CopyFrom(numpy_helper.from_array(arr.astype(np.float32), name))


def materialize(src: str | Path, dst: str | Path, seed: int = 0) -> Path:
    """Write ``src`` with every ConstantOfShape-made weight replaced by a random initializer."""
    model = onnx.load(str(src))
    g = model.graph
    rng = np.random.default_rng(seed)
    inits = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    consumers: dict[str, tuple[str, int]] = {}
    for node in g.node:
        for k, name in enumerate(node.input):
            consumers.setdefault(name, (node.op_type, k))
    keep, new_inits = [], []
    for node in g.node:
        if node.op_type == "ConstantOfShape" and node.input and node.input[0] in inits:
            shape = tuple(int(d) for d in inits[node.input[0]].ravel())
            op, slot = consumers.get(node.output[0], ("", 0))
            new_inits.append(numpy_helper.from_array(_init_values(shape, op, slot, rng), node.output[0]))
        else:
            keep.append(node)
    del g.node[:]
    g.node.extend(keep)
    g.initializer.extend(new_inits)
    used = {n for node in g.node for n in node.input}
    alive = [i for i in g.initializer if i.name in used]
    del g.initializer[:]
    g.initializer.extend(alive)
    live_inputs = [i for i in g.input if i.name in used]
    del g.input[:]
    g.input.extend(live_inputs)
    if model.ir_version < 4:  # old IR: every initializer must also be a graph input
        listed = {i.name for i in g.input}
        for init in new_inits:
            if init.name in used and init.name not in listed:
                g.input.append(onnx.helper.make_tensor_value_info(init.name, init.data_type, list(init.dims)))
    _calibrate_head(model, rng)
    onnx.checker.check_model(model)
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(dst))
    return dst
