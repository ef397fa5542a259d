"""Minimal TFLite model builder for tests (ModelT object API of ai_edge_litert's schema).

``fc_softmax_model(path)``: x[1,4] -> FULLY_CONNECTED(W[3,4], b[3]) -> SOFTMAX -> y[1,3].
``conv_model(path)``: x[1,8,8,3] (NHWC) -> CONV_2D(W[4,3,3,3], b[4], VALID, stride 1) -> y[1,6,6,4].
Both return the weights so tests can compute the reference output with numpy.
"""

from __future__ import annotations

from pathlib import Path

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as s

__all__ = ["fc_softmax_model", "conv_model", "build_model"]


def _tensor(name, shape, buffer, sig=None, ttype=s.TensorType.FLOAT32):
    t = s.TensorT()
    t.name, t.shape, t.type, t.buffer = name, list(shape), ttype, buffer
    if sig is not None:
        t.shapeSignature = list(sig)
    return t


def _buffer(arr=None):
    b = s.BufferT()
    if arr is not None:
        b.data = np.frombuffer(np.ascontiguousarray(arr).tobytes(), dtype=np.uint8)
    return b


def _opcode(code):
    oc = s.OperatorCodeT()
    oc.builtinCode = code
    oc.deprecatedBuiltinCode = min(code, 127)
    oc.version = 1
    return oc


def _op(opcode_index, inputs, outputs, opt_type=0, opts=None):
    op = s.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = opcode_index, list(inputs), list(outputs)
    op.builtinOptionsType, op.builtinOptions = opt_type, opts
    return op


def build_model(path: Path, tensors, buffers, opcodes, ops, inputs, outputs) -> Path:
    sg = s.SubGraphT()
    sg.tensors, sg.operators, sg.inputs, sg.outputs, sg.name = tensors, ops, inputs, outputs, "main"
    m = s.ModelT()
    m.version, m.operatorCodes, m.subgraphs, m.buffers = 3, opcodes, [sg], buffers
    m.description = "edgeport test fixture"
    b = flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    Path(path).write_bytes(bytes(b.Output()))
    return Path(path)


def fc_softmax_model(path: Path, dynamic_batch: bool = False, seed: int = 0):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((3, 4)).astype(np.float32)
    bias = rng.standard_normal(3).astype(np.float32)
    sig = [-1, 4] if dynamic_batch else None
    tensors = [_tensor("x", [1, 4], 0, sig), _tensor("w", [3, 4], 1), _tensor("b", [3], 2),
               _tensor("logits", [1, 3], 0, [-1, 3] if dynamic_batch else None),
               _tensor("probs", [1, 3], 0, [-1, 3] if dynamic_batch else None)]
    buffers = [_buffer(), _buffer(w), _buffer(bias)]
    fc = s.FullyConnectedOptionsT()
    sm = s.SoftmaxOptionsT()
    sm.beta = 1.0
    ops = [_op(0, [0, 1, 2], [3], s.BuiltinOptions.FullyConnectedOptions, fc),
           _op(1, [3], [4], s.BuiltinOptions.SoftmaxOptions, sm)]
    build_model(path, tensors, buffers, [_opcode(s.BuiltinOperator.FULLY_CONNECTED),
                                         _opcode(s.BuiltinOperator.SOFTMAX)], ops, [0], [4])
    return w, bias


def conv_model(path: Path, seed: int = 0):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)  # O, kh, kw, I
    bias = rng.standard_normal(4).astype(np.float32)
    tensors = [_tensor("image", [1, 8, 8, 3], 0), _tensor("w", [4, 3, 3, 3], 1), _tensor("b", [4], 2),
               _tensor("features", [1, 6, 6, 4], 0)]
    opts = s.Conv2DOptionsT()
    opts.padding, opts.strideW, opts.strideH = s.Padding.VALID, 1, 1
    opts.dilationWFactor = opts.dilationHFactor = 1
    ops = [_op(0, [0, 1, 2], [3], s.BuiltinOptions.Conv2DOptions, opts)]
    build_model(path, tensors, [_buffer(), _buffer(w), _buffer(bias)],
                [_opcode(s.BuiltinOperator.CONV_2D)], ops, [0], [3])
    return w, bias
