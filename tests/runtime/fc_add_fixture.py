"""Build tiny .tflite models with the ModelT object API of ai_edge_litert.schema_py_generated.

``fc_add_model(path, w, b, c, dynamic_batch)`` writes ``y = x @ w.T + b + c`` as
FULLY_CONNECTED followed by ADD; input "x" [batch, in], output "y" [batch, out], with a
"serving_default" signature. ``reference(x, w, b, c)`` is the numpy answer.
"""

from __future__ import annotations

from pathlib import Path

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as s

__all__ = ["fc_add_model", "reference"]


def _tensor(name: str, shape, buffer: int, dynamic_batch: bool = False) -> s.TensorT:
    t = s.TensorT()
    t.name = name
    t.shape = list(shape)
    t.type = s.TensorType.FLOAT32
    t.buffer = buffer
    if dynamic_batch:
        t.shapeSignature = [-1] + list(shape[1:])
    return t


def _buffer(arr: np.ndarray | None) -> s.BufferT:
    b = s.BufferT()
    if arr is not None:
        b.data = list(np.ascontiguousarray(arr, dtype=np.float32).tobytes())
    return b


def fc_add_model(path: str | Path, w: np.ndarray, b: np.ndarray, c: np.ndarray, dynamic_batch: bool = False) -> Path:
    """Write y = FULLY_CONNECTED(x, w, b) + c to ``path``; w is [out, in], b and c are [out]."""
    out_f, in_f = w.shape
    batch = 1
    m = s.ModelT()
    m.version = 3
    m.description = "edgeport test fixture"
    m.buffers = [_buffer(None), _buffer(None), _buffer(w), _buffer(b), _buffer(c), _buffer(None), _buffer(None)]
    codes = []
    for op in (s.BuiltinOperator.FULLY_CONNECTED, s.BuiltinOperator.ADD):
        oc = s.OperatorCodeT()
        oc.builtinCode = op
        oc.deprecatedBuiltinCode = op
        oc.version = 1
        codes.append(oc)
    m.operatorCodes = codes
    sg = s.SubGraphT()
    sg.name = "main"
    sg.tensors = [
        _tensor("x", (batch, in_f), 1, dynamic_batch),
        _tensor("w", (out_f, in_f), 2),
        _tensor("b", (out_f,), 3),
        _tensor("c", (out_f,), 4),
        _tensor("fc", (batch, out_f), 5, dynamic_batch),
        _tensor("y", (batch, out_f), 6, dynamic_batch),
    ]
    sg.inputs, sg.outputs = [0], [5]
    fc = s.OperatorT()
    fc.opcodeIndex, fc.inputs, fc.outputs = 0, [0, 1, 2], [4]
    fc.builtinOptionsType = s.BuiltinOptions.FullyConnectedOptions
    fc.builtinOptions = s.FullyConnectedOptionsT()
    add = s.OperatorT()
    add.opcodeIndex, add.inputs, add.outputs = 1, [4, 3], [5]
    add.builtinOptionsType = s.BuiltinOptions.AddOptions
    add.builtinOptions = s.AddOptionsT()
    sg.operators = [fc, add]
    m.subgraphs = [sg]
    sig = s.SignatureDefT()
    sig.signatureKey, sig.subgraphIndex = "serving_default", 0
    ti, to = s.TensorMapT(), s.TensorMapT()
    ti.name, ti.tensorIndex = "x", 0
    to.name, to.tensorIndex = "y", 5
    sig.inputs, sig.outputs = [ti], [to]
    m.signatureDefs = [sig]
    builder = flatbuffers.Builder(1024)
    builder.Finish(m.Pack(builder), file_identifier=b"TFL3")
    path = Path(path)
    path.write_bytes(bytes(builder.Output()))
    return path


def reference(x: np.ndarray, w: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    return x @ w.T + b + c
