"""FlatBuffer access for the quantizer: read/write ModelT, tensors, buffers and opcodes.

Uses ``edgeport.convert.tflite.flatbuffer`` when the converter provides it, and a
small local reader/writer otherwise (the schema is ai_edge_litert's generated one).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from ai_edge_litert import schema_py_generated as S

from edgeport._fileio import atomic_write_bytes

__all__ = [
    "S", "read_model", "write_model", "model_bytes", "op_name", "opcode_index",
    "tensor_array", "add_tensor", "add_buffer", "TYPE_TO_NP", "NP_TO_TYPE", "prune_unused",
]

TYPE_TO_NP = {
    S.TensorType.FLOAT32: np.float32, S.TensorType.FLOAT16: np.float16, S.TensorType.INT32: np.int32,
    S.TensorType.UINT8: np.uint8, S.TensorType.INT64: np.int64, S.TensorType.BOOL: np.bool_,
    S.TensorType.INT16: np.int16, S.TensorType.INT8: np.int8,
}
NP_TO_TYPE = {np.dtype(v): k for k, v in TYPE_TO_NP.items()}
_BUILTIN_NAMES = {v: k for k, v in vars(S.BuiltinOperator).items() if not k.startswith("_")}


def read_model(path: str | Path) -> "S.ModelT":
    """Parse a .tflite file into the mutable object API (call check_file before, for user files)."""
    data = Path(path).read_bytes()
    return S.ModelT.InitFromObj(S.Model.GetRootAs(data, 0))


def model_bytes(model: "S.ModelT") -> bytes:
    try:  # the converter's writer aligns buffers to 16 bytes
        from edgeport.convert.tflite.flatbuffer import model_to_bytes
    except ImportError:
        model_to_bytes = None
    if model_to_bytes is not None:
        return model_to_bytes(model)
    import flatbuffers

    b = flatbuffers.Builder(1 << 16)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def write_model(model: "S.ModelT", path: str | Path) -> Path:
    """Serialize atomically."""
    return atomic_write_bytes(path, model_bytes(model))


def op_name(model: "S.ModelT", op: "S.OperatorT") -> str:
    oc = model.operatorCodes[op.opcodeIndex]
    code = max(oc.builtinCode, oc.deprecatedBuiltinCode)
    return _BUILTIN_NAMES.get(code, f"OP_{code}") if code != S.BuiltinOperator.CUSTOM else (oc.customCode or b"CUSTOM").decode()


def opcode_index(model: "S.ModelT", name: str, version: int = 1) -> int:
    """Index of the opcode for builtin ``name`` (added if missing); its version is raised to ``version``."""
    from edgeport.convert.tflite.flatbuffer import opcode_index as _opcode_index

    return _opcode_index(model, getattr(S.BuiltinOperator, name), version)


def tensor_array(model: "S.ModelT", t: "S.TensorT") -> np.ndarray | None:
    """The constant data of a tensor, or None for activations."""
    if t.buffer is None or t.buffer <= 0 or t.buffer >= len(model.buffers):
        return None
    data = model.buffers[t.buffer].data
    if data is None or len(data) == 0:
        return None
    arr = np.frombuffer(np.asarray(data, dtype=np.uint8).tobytes(), dtype=TYPE_TO_NP[t.type])
    shape = [int(s) for s in t.shape] if t.shape is not None else []
    return arr.reshape(shape) if shape else arr.reshape(())


def add_buffer(model: "S.ModelT", arr: np.ndarray | None) -> int:
    b = S.BufferT()
    if arr is not None:
        b.data = np.frombuffer(np.ascontiguousarray(arr).tobytes(), dtype=np.uint8)
    model.buffers.append(b)
    return len(model.buffers) - 1


def add_tensor(model: "S.ModelT", sg: "S.SubGraphT", name: str, shape, ttype: int, *,
               data: np.ndarray | None = None, scale=None, zero_point=None, axis: int = 0,
               shape_signature=None) -> int:
    """Append a tensor (with a new buffer) and return its index."""
    t = S.TensorT()
    t.name = name.encode() if isinstance(name, str) else name
    t.shape = np.asarray(list(shape), dtype=np.int32)
    if shape_signature is not None:
        t.shapeSignature = np.asarray(list(shape_signature), dtype=np.int32)
    t.type = ttype
    t.buffer = add_buffer(model, data)
    if scale is not None:
        set_quant(t, scale, zero_point, axis)
    sg.tensors.append(t)
    return len(sg.tensors) - 1


def set_quant(t: "S.TensorT", scale, zero_point, axis: int = 0) -> None:
    q = S.QuantizationParametersT()
    q.scale = np.atleast_1d(np.asarray(scale, dtype=np.float32))
    q.zeroPoint = np.atleast_1d(np.asarray(zero_point, dtype=np.int64))
    q.quantizedDimension = int(axis)
    t.quantization = q


def prune_unused(model: "S.ModelT") -> None:
    """Drop tensors no op or signature uses, then buffers no tensor uses (buffer 0 stays)."""
    for sg in model.subgraphs:
        used = set(int(i) for i in sg.inputs) | set(int(i) for i in sg.outputs)
        for op in sg.operators:
            used |= {int(i) for i in op.inputs if i >= 0} | {int(i) for i in op.outputs if i >= 0}
            if op.intermediates is not None:
                used |= {int(i) for i in op.intermediates}
        keep = sorted(used)
        remap = {old: new for new, old in enumerate(keep)}
        sg.tensors = [sg.tensors[i] for i in keep]
        fix = lambda xs: np.asarray([remap[int(i)] if i >= 0 else -1 for i in xs], dtype=np.int32)  # noqa: E731
        sg.inputs, sg.outputs = fix(sg.inputs), fix(sg.outputs)
        for op in sg.operators:
            op.inputs, op.outputs = fix(op.inputs), fix(op.outputs)
            if op.intermediates is not None:
                op.intermediates = fix(op.intermediates)
        for sd in model.signatureDefs or []:
            if sd.subgraphIndex == model.subgraphs.index(sg):
                for tm in list(sd.inputs or []) + list(sd.outputs or []):
                    tm.tensorIndex = remap.get(tm.tensorIndex, tm.tensorIndex)
    used_b = {0} | {t.buffer for sg in model.subgraphs for t in sg.tensors}
    used_b |= {m.buffer for m in model.metadata or []}
    keep_b = sorted(b for b in used_b if b < len(model.buffers))
    bmap = {old: new for new, old in enumerate(keep_b)}
    model.buffers = [model.buffers[i] for i in keep_b]
    for sg in model.subgraphs:
        for t in sg.tensors:
            t.buffer = bmap[t.buffer]
    for m in model.metadata or []:
        m.buffer = bmap[m.buffer]
    if model.metadataBuffer is not None:
        model.metadataBuffer = np.asarray([bmap[b] for b in model.metadataBuffer if b in bmap], dtype=np.int32)
