"""Weight-only TFLite variants: fp16 (float16 constants + DEQUANTIZE) and dynamic-range int8 (hybrid ops)."""

from __future__ import annotations

import numpy as np

from edgeport.compress.tflite import _fb
from edgeport.compress.tflite._fb import S
from edgeport.compress.tflite.ops import RULES
from edgeport.compress.tflite.qmath import quantize_weights

__all__ = ["to_fp16", "to_dynamic"]

_F32 = S.TensorType.FLOAT32
_HYBRID_VERSION = {"CONV_2D": 5, "DEPTHWISE_CONV_2D": 6, "FULLY_CONNECTED": 3}


def to_fp16(model, min_elements: int = 16) -> list[str]:
    """Store float32 constants (>= min_elements) as float16, dequantized once at load time."""
    sg = model.subgraphs[0]
    converted, head = [], []
    for i, t in enumerate(list(sg.tensors)):
        w = _fb.tensor_array(model, t) if t.type == _F32 else None
        if w is None or w.size < min_elements:
            continue
        name = t.name.decode() if isinstance(t.name, bytes) else t.name
        h = _fb.add_tensor(model, sg, name + "_fp16", t.shape, S.TensorType.FLOAT16, data=w.astype(np.float16))
        t.buffer = _fb.add_buffer(model, None)  # the float32 tensor becomes DEQUANTIZE's output
        op = S.OperatorT()
        op.opcodeIndex = _fb.opcode_index(model, "DEQUANTIZE", 3)
        op.inputs, op.outputs = np.asarray([h], np.int32), np.asarray([i], np.int32)
        head.append(op)
        converted.append(name)
    sg.operators = head + list(sg.operators)
    _fb.prune_unused(model)
    return converted


def to_dynamic(model, per_channel: bool = True) -> list[str]:
    """int8 weights for CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED; activations stay float (hybrid kernels)."""
    sg = model.subgraphs[0]
    done = []
    for op in sg.operators:
        name = _fb.op_name(model, op)
        if name not in _HYBRID_VERSION or len(op.inputs) < 2:
            continue
        wt = sg.tensors[op.inputs[1]]
        w = _fb.tensor_array(model, wt) if wt.type == _F32 else None
        if w is None:
            continue
        axis = RULES[name].axis if per_channel and name != "FULLY_CONNECTED" else None
        q, s = quantize_weights(w, axis)
        tname = wt.name.decode() if isinstance(wt.name, bytes) else wt.name
        ins = [int(i) for i in op.inputs]
        ins[1] = _fb.add_tensor(model, sg, tname, wt.shape, S.TensorType.INT8, data=q, scale=s,
                                zero_point=np.zeros(len(s), np.int64), axis=axis or 0)
        op.inputs = np.asarray(ins, np.int32)
        oc = model.operatorCodes[op.opcodeIndex]
        oc.version = max(oc.version or 1, _HYBRID_VERSION[name])
        done.append(sg.tensors[op.outputs[0]].name.decode())
    _fb.prune_unused(model)
    return done
