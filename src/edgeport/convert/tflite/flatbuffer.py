"""TFLite FlatBuffer helpers over the schema's object API (``ai_edge_litert.schema_py_generated``).

``read_model(path) -> ModelT``, ``write_model(model_t, path)`` (atomic, buffers
16-byte aligned, file identifier ``TFL3``), ``opcode_index``, ``add_buffer``,
``add_tensor``, ``add_operator``. The compress engineer builds on these.
"""

from __future__ import annotations

import os

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as schema

from edgeport._fileio import atomic_path
from edgeport.errors import ConversionError, ModelFormatError

__all__ = ["schema", "read_model", "write_model", "model_to_bytes", "model_to_buffer", "opcode_index", "add_buffer",
           "add_tensor", "add_operator", "tensor_type", "numpy_dtype", "FLATBUFFER_LIMIT", "AlignedBufferT"]

FLATBUFFER_LIMIT = 2**31 - 1
_ALIGN = 16

_NP_TO_TFL = {
    np.dtype(np.float32): schema.TensorType.FLOAT32, np.dtype(np.float16): schema.TensorType.FLOAT16,
    np.dtype(np.float64): schema.TensorType.FLOAT64, np.dtype(np.int32): schema.TensorType.INT32,
    np.dtype(np.int64): schema.TensorType.INT64, np.dtype(np.int16): schema.TensorType.INT16,
    np.dtype(np.int8): schema.TensorType.INT8, np.dtype(np.uint8): schema.TensorType.UINT8,
    np.dtype(np.bool_): schema.TensorType.BOOL, np.dtype(np.uint32): schema.TensorType.UINT32,
    np.dtype(np.uint16): schema.TensorType.UINT16, np.dtype(np.uint64): schema.TensorType.UINT64,
}
_TFL_TO_NP = {v: k for k, v in _NP_TO_TFL.items()}


def tensor_type(dtype) -> int:
    """TFLite TensorType for a numpy dtype."""
    try:
        return _NP_TO_TFL[np.dtype(dtype)]
    except KeyError:
        raise ConversionError(f"dtype {np.dtype(dtype)} has no TFLite tensor type",
                              hint="cast the model to float32/int32 first") from None


def numpy_dtype(tfl_type: int) -> np.dtype:
    return _TFL_TO_NP[tfl_type]


class AlignedBufferT(schema.BufferT):
    """A BufferT whose data vector is 16-byte aligned (what the TFLite converter does)."""

    def Pack(self, builder):
        data_off = None
        if self.data is not None and len(self.data):
            raw = np.ascontiguousarray(self.data).view(np.uint8).reshape(-1)
            builder.StartVector(1, raw.size, _ALIGN)
            builder.head = builder.head - raw.size
            builder.Bytes[builder.Head():builder.Head() + raw.size] = memoryview(raw)
            builder.vectorNumElems = raw.size
            data_off = builder.EndVector()
        schema.BufferStart(builder)
        if data_off is not None:
            schema.BufferAddData(builder, data_off)
        schema.BufferAddOffset(builder, self.offset or 0)
        schema.BufferAddSize(builder, self.size or 0)
        return schema.BufferEnd(builder)


def read_model(path: str | os.PathLike) -> "schema.ModelT":
    """Parse a .tflite file into the mutable object API (ModelT)."""
    with open(path, "rb") as f:
        buf = f.read()
    if len(buf) < 8 or buf[4:8] != b"TFL3":
        raise ModelFormatError(f"{path} is not a TFLite model (no TFL3 identifier)", hint="check the file")
    try:
        return schema.ModelT.InitFromPackedBuf(buf, 0)
    except Exception as e:
        raise ModelFormatError(f"cannot parse TFLite model {path}: {e}", hint="the file is corrupted") from None


def model_to_bytes(model: "schema.ModelT") -> bytes:
    """Serialize a ModelT (buffers aligned) with file identifier TFL3."""
    return bytes(model_to_buffer(model))


def model_to_buffer(model: "schema.ModelT") -> memoryview:
    """Like :func:`model_to_bytes` but a view on the builder's bytes (no copy of a large model)."""
    total = sum(0 if b.data is None else len(b.data) for b in model.buffers or [])
    if total > FLATBUFFER_LIMIT - (64 << 20):
        raise ConversionError(f"the model's weights take {total / 2**30:.2f} GiB, over the 2 GiB TFLite FlatBuffer "
                              "limit", hint="quantize to fp16/int8 first or split the model")
    model.buffers = [b if isinstance(b, AlignedBufferT) else _aligned(b) for b in model.buffers or []]
    builder = flatbuffers.Builder(total + (1 << 20))
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return memoryview(builder.Bytes)[builder.Head():]


def _aligned(b: "schema.BufferT") -> AlignedBufferT:
    a = AlignedBufferT()
    a.data, a.offset, a.size = b.data, b.offset, b.size
    return a


def write_model(model: "schema.ModelT", path: str | os.PathLike) -> None:
    """Write a ModelT to ``path`` atomically."""
    data = model_to_buffer(model)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)


def opcode_index(model: "schema.ModelT", builtin: int, version: int = 1) -> int:
    """Index of the operator code for ``builtin`` (added when missing)."""
    model.operatorCodes = model.operatorCodes or []
    for i, oc in enumerate(model.operatorCodes):
        if max(oc.builtinCode, oc.deprecatedBuiltinCode) == builtin and not oc.customCode:
            oc.version = max(oc.version, version)
            return i
    oc = schema.OperatorCodeT()
    oc.builtinCode = builtin
    oc.deprecatedBuiltinCode = min(builtin, 127)
    oc.version = version
    model.operatorCodes.append(oc)
    return len(model.operatorCodes) - 1


def add_buffer(model: "schema.ModelT", data: np.ndarray | bytes | None = None) -> int:
    """Append a buffer (raw bytes of ``data``) and return its index. Buffer 0 stays the empty sentinel."""
    model.buffers = model.buffers or [AlignedBufferT()]
    b = AlignedBufferT()
    if data is not None:
        b.data = np.frombuffer(data, np.uint8) if isinstance(data, (bytes, bytearray)) else \
            np.ascontiguousarray(data).view(np.uint8).reshape(-1)
    model.buffers.append(b)
    return len(model.buffers) - 1


def add_tensor(model: "schema.ModelT", subgraph: "schema.SubGraphT", name: str, shape, dtype,
               data: np.ndarray | None = None) -> int:
    """Append a tensor (constant when ``data`` is given) to ``subgraph`` and return its index."""
    t = schema.TensorT()
    t.name = name
    t.shape = np.asarray(shape, np.int32).reshape(-1)
    t.type = tensor_type(dtype)
    t.buffer = 0 if data is None else add_buffer(model, np.asarray(data, dtype))
    subgraph.tensors = subgraph.tensors or []
    subgraph.tensors.append(t)
    return len(subgraph.tensors) - 1


def add_operator(model: "schema.ModelT", subgraph: "schema.SubGraphT", builtin: int, inputs, outputs,
                 options_type: int = 0, options=None, version: int = 1) -> "schema.OperatorT":
    """Append an operator (opcode registered as needed)."""
    op = schema.OperatorT()
    op.opcodeIndex = opcode_index(model, builtin, version)
    op.inputs = np.asarray(list(inputs), np.int32)
    op.outputs = np.asarray(list(outputs), np.int32)
    op.builtinOptionsType = options_type
    op.builtinOptions = options
    subgraph.operators = subgraph.operators or []
    subgraph.operators.append(op)
    return op
